"""Stripe's webhook: verified on the raw body, each event id applied once, through payment_settle."""

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from pynamodb.exceptions import PutError

from orders.lifecycle import Actor
from orders.models import IdempotencyKey, Order
from orders.selectors import idempotency_record_get
from payments.errors import InvalidSignature, OrderNotPayable
from payments.intents import intent_get
from payments.services import payment_settle

logger = logging.getLogger(__name__)

# The webhook events that say something about an order's intent (others are acknowledged).
INTENT_EVENTS = frozenset(
    {
        "payment_intent.amount_capturable_updated",  # authorised (manual capture)
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.canceled",
    }
)
# A webhook's signature is accepted this long after its timestamp (Stripe's own default).
WEBHOOK_TOLERANCE_SECONDS = 300
# Handled event ids live in the idempotency table under this prefix, kept past Stripe's retries.
EVENT_KEY_PREFIX = "stripe-event#"
EVENT_RECORD_TTL = timedelta(days=7)
_ORDER_ID = re.compile(r"^[0-9a-f]{32}\Z")


def webhook_event_verified(*, payload: bytes, signature: str | None) -> dict:
    """The event, once its signature (HMAC of the raw body with STRIPE_WEBHOOK_SECRET) and its
    timestamp (at most WEBHOOK_TOLERANCE_SECONDS old) check out; InvalidSignature (400) if not."""
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, settings.STRIPE_WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature() from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
    ):
        raise InvalidSignature("A signed body that is not a Stripe event.")
    return event


def _webhook_order(event: dict) -> tuple[Order | None, str | None]:
    """The order an intent event is about (by the intent's metadata), if it is ours."""
    intent = (event.get("data") or {}).get("object") or {}
    intent_id = intent.get("id") if isinstance(intent, dict) else None
    order_id = ((intent.get("metadata") or {}) if isinstance(intent, dict) else {}).get("order_id")
    if not isinstance(intent_id, str) or not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
        return None, intent_id
    try:
        order = Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist:
        return None, intent_id
    if order.payment is None or order.payment.intent_id != intent_id:
        return None, intent_id
    return order, intent_id


def _webhook_event_apply(event: dict) -> str:
    if event["type"] not in INTENT_EVENTS:
        return "ignored"
    order, intent_id = _webhook_order(event)
    if order is None:
        logger.warning("Stripe webhook %s %s: unknown intent %s", event["type"], event["id"], intent_id)
        return "unknown_intent"
    # The event's copy may be stale (events arrive in any order): ask Stripe how the intent stands.
    intent = intent_get(intent_id=intent_id)
    try:
        payment_settle(order=order, intent=intent, actor=Actor.PAYMENT, declined_raises=False)
    except OrderNotPayable as exc:
        logger.warning("Stripe webhook %s for order %s: %s", event["id"], order.order_id, exc.detail)
    return "handled"


def webhook_handle(*, payload: bytes, signature: str | None) -> str:
    """Verify and apply one webhook delivery; each event id is applied once (a record in the
    idempotency table). Returns what happened: handled, duplicate, ignored or unknown_intent.

    The record is written after the event is applied: a delivery that fails midway (503) is
    applied again when Stripe retries, which is safe because every order write it makes is
    conditional; two copies racing both apply, and the conditions leave one effect."""
    event = webhook_event_verified(payload=payload, signature=signature)
    key = f"{EVENT_KEY_PREFIX}{event['id']}"
    if idempotency_record_get(key=key) is not None:
        return "duplicate"
    outcome = _webhook_event_apply(event)
    record = IdempotencyKey(
        key=key,
        request_hash=event["type"][:100],
        order_id="-",
        response_status=200,
        response_body=json.dumps({"outcome": outcome}),
        expires_at=datetime.now(UTC) + EVENT_RECORD_TTL,
    )
    try:
        record.save(condition=IdempotencyKey.key.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    logger.info("Stripe webhook %s %s: %s", event["type"], event["id"], outcome)
    return outcome

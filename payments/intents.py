"""The order's PaymentIntent at Stripe: open, read, confirm with a card, capture, cancel (no order writes)."""

import logging

import stripe

from payments.errors import InvalidPaymentMethod
from payments.stripe_client import stripe_call, stripe_client

logger = logging.getLogger(__name__)

PROVIDER = "stripe"


def intent_idempotency_key(*, order_id: str) -> str:
    """Stripe's idempotency key for the order's one intent: a retry opens no second one."""
    return f"cloudcart-order-{order_id}"


def intent_open(*, order_id: str, amount_cents: int, currency: str) -> stripe.PaymentIntent:
    """Open the order's PaymentIntent: manual capture (authorised now, captured once the stock is
    taken), the server's total, the order's id in its metadata. Unpaid, it can only be paid
    through our `POST /orders/{id}/payment` or Stripe.js with its client secret: nothing can
    charge it without the customer."""
    return stripe_call(
        stripe_client().v1.payment_intents.create,
        params={
            "amount": amount_cents,
            "currency": currency.lower(),
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": {"order_id": order_id},
        },
        options={"idempotency_key": intent_idempotency_key(order_id=order_id)},
    )


def intent_get(*, intent_id: str) -> stripe.PaymentIntent:
    return stripe_call(stripe_client().v1.payment_intents.retrieve, intent_id)


def payment_method_check(*, payment_method: str) -> None:
    """InvalidPaymentMethod (400) unless Stripe knows this payment method (`pm_...` or a card from
    Stripe.js's createToken, `card_...`)."""
    if not payment_method.startswith(("pm_", "card_")):
        raise InvalidPaymentMethod()
    try:
        stripe_call(stripe_client().v1.payment_methods.retrieve, payment_method)
    except stripe.InvalidRequestError as exc:
        raise InvalidPaymentMethod() from exc


def intent_confirm_with(*, intent_id: str, payment_method: str) -> stripe.PaymentIntent:
    """Set the payment method on the intent, then confirm it (two calls: Stripe's confirm takes it
    as an argument, localstripe's does not). A declined card raises PaymentDeclined."""
    client = stripe_client()
    stripe_call(client.v1.payment_intents.update, intent_id, params={"payment_method": payment_method})
    return stripe_call(client.v1.payment_intents.confirm, intent_id)


def intent_capture(*, intent_id: str) -> stripe.PaymentIntent:
    return stripe_call(stripe_client().v1.payment_intents.capture, intent_id)


def intent_cancel(*, intent_id: str) -> stripe.PaymentIntent | None:
    """Cancel the intent (the authorisation is released, nothing is charged). Already cancelled:
    its current state. Captured: None (nothing to cancel; the caller decides)."""
    try:
        return stripe_call(stripe_client().v1.payment_intents.cancel, intent_id)
    except stripe.InvalidRequestError:
        intent = intent_get(intent_id=intent_id)
        if intent.status == "canceled":
            return intent
        if intent.status == "succeeded":
            return None
        raise


def intent_cancel_quietly(*, intent_id: str) -> bool:
    """Best effort: cancel an intent nobody will pay (an orphan of a lost checkout). Logged."""
    try:
        return intent_cancel(intent_id=intent_id) is not None
    except Exception:
        logger.warning("PaymentIntent %s: cancel failed; nothing can charge it", intent_id, exc_info=True)
        return False

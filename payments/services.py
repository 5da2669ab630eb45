"""Payment writes: the customer pays, Stripe's webhook and the reconciler report, unpaid orders expire.

Three doors lead to one decision, `payment_settle`: the owner's `POST /orders/{id}/payment`, a
signed webhook, and the reconciler asking Stripe. Whichever sees the intent authorised first moves
the order AWAITING_PAYMENT -> PENDING in a conditional update (orders/lifecycle.py) and publishes
it to the worker; the others find it moved and publish nothing.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from pynamodb.exceptions import UpdateError

from notifications.services import order_notify
from orders.lifecycle import Actor, order_transition
from orders.models import Order
from orders.selectors import order_get, orders_awaiting_payment
from orders.services import order_publish, order_republish_due
from payments.errors import (
    InvalidPaymentMethod,
    OrderNotPayable,
    PaymentDeclined,
    PaymentsUnavailable,
)
from payments.intents import (
    intent_cancel,
    intent_cancel_quietly,
    intent_confirm_with,
    intent_get,
    payment_method_check,
)

logger = logging.getLogger(__name__)

# Stripe's intent statuses that still need the customer.
NEEDS_CUSTOMER = frozenset({"requires_action", "requires_confirmation", "processing"})
# Order statuses that only an authorised payment leads to (CANCELLED and EXPIRED may not).
PAID_ALREADY = frozenset(
    {
        Order.PENDING,
        Order.CONFIRMED,
        Order.REJECTED,
        Order.FAILED,
        Order.PARTIALLY_REFUNDED,
        Order.REFUNDED,
    }
)


@dataclass(frozen=True)
class PaymentOutcome:
    """The order after a payment step: 202 once authorised (it is PENDING or further on), 200
    while it still needs the customer (3-D Secure)."""

    order: Order
    status_code: int


def _now() -> datetime:
    return datetime.now(UTC)


def _decline_message(intent) -> str | None:
    error = intent.to_dict().get("last_payment_error")
    return (error.get("message") or "The payment was declined.") if error else None


def _payment_note(order: Order, *, status: str, last_error: str | None = None) -> None:
    """Record what Stripe says on an order still awaiting payment (version + 1); a no-op when it
    has moved on meanwhile. `order` is refreshed either way."""
    actions = [Order.payment.status.set(status), Order.version.add(1)]
    if last_error is not None:
        actions.append(Order.payment.last_error.set(last_error))
    try:
        order.update(actions=actions, condition=Order.status == Order.AWAITING_PAYMENT)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        order.refresh(consistent_read=True)


def _payment_authorised(order: Order, *, intent, actor: Actor) -> PaymentOutcome:
    """The intent is authorised: AWAITING_PAYMENT -> PENDING once, and only the winner publishes."""
    if order.status == Order.AWAITING_PAYMENT:
        if int(intent.amount) != int(order.total_cents):
            logger.error(
                "Order %s: intent %s authorises %s, not the order's total",
                order.order_id,
                intent.id,
                intent.amount,
            )
            raise OrderNotPayable("The payment does not match the order's total.")
        now = _now()
        moved = order_transition(
            order,
            source=Order.AWAITING_PAYMENT,
            target=Order.PENDING,
            actor=actor,
            actions=[
                Order.payment.status.set(intent.status),
                Order.payment.amount_authorized_cents.set(int(intent.amount)),
                Order.payment.last_error.remove(),
                # Its first publish is now (counted); the reconciler's republishes follow from here.
                Order.publishes.set(1),
                Order.republish_at.set(order_republish_due(publishes=1, after=now)),
            ],
        )
        if moved:
            logger.info("Order %s paid (authorised, seen by %s): PENDING", order.order_id, actor)
            order_publish(order_id=order.order_id)
            order_notify(order_id=order.order_id)
            return PaymentOutcome(order=order, status_code=202)
        order.refresh(consistent_read=True)
    if order.status in (Order.EXPIRED, Order.CANCELLED):
        # Authorised after the order was given up: release the hold, charge nothing.
        intent_cancel_quietly(intent_id=intent.id)
        raise OrderNotPayable(f"This order is {order.status}; the authorisation was released.")
    return PaymentOutcome(order=order, status_code=202)  # another door got there first


def payment_settle(*, order: Order, intent, actor: Actor, declined_raises: bool) -> PaymentOutcome:
    """Bring the order in line with its intent as Stripe reports it now. A decline raises
    PaymentDeclined when `declined_raises` (the customer's call), and is only recorded otherwise."""
    if intent.id != order.payment.intent_id:
        raise ValueError(f"intent {intent.id} is not order {order.order_id}'s")
    if intent.status == "requires_capture":
        return _payment_authorised(order, intent=intent, actor=actor)
    if order.status != Order.AWAITING_PAYMENT:
        return PaymentOutcome(order=order, status_code=202)
    if intent.status in NEEDS_CUSTOMER:
        _payment_note(order, status=intent.status)
        return PaymentOutcome(order=order, status_code=200)
    if intent.status == "requires_payment_method":
        message = _decline_message(intent)
        if message is not None or order.payment.status != intent.status:
            _payment_note(order, status=intent.status, last_error=message)
        if message is not None and declined_raises:
            raise PaymentDeclined(message)
        return PaymentOutcome(order=order, status_code=200)
    return PaymentOutcome(order=order, status_code=200)  # canceled: the order is being given up


def order_pay(*, order_id: str, payment_method: str | None) -> PaymentOutcome:
    """The owner pays: with `payment_method`, set it on the order's intent and confirm it; without,
    read the intent again (after a 3-D Secure step in the browser). Authorised: the order becomes
    PENDING and goes to the worker. Declined: PaymentDeclined (402), the order keeps waiting and
    another card may be tried. Unknown payment method: InvalidPaymentMethod (400). Without a
    payment method on an order another door (the webhook, the reconciler) has already moved on
    from its authorisation: 202 with the order as it is, as when the two race."""
    order = order_get(order_id=order_id)
    if order.payment is not None and payment_method is None and order.status in PAID_ALREADY:
        return PaymentOutcome(order=order, status_code=202)
    if order.payment is None or order.status != Order.AWAITING_PAYMENT:
        raise OrderNotPayable()
    intent_id = order.payment.intent_id
    if payment_method is None:
        intent = intent_get(intent_id=intent_id)
    else:
        payment_method_check(payment_method=payment_method)
        try:
            intent = intent_confirm_with(intent_id=intent_id, payment_method=payment_method)
        except PaymentDeclined as exc:
            _payment_note(order, status="requires_payment_method", last_error=str(exc.detail))
            raise
        except stripe.InvalidRequestError as exc:
            # Confirmed already (a second click, another tab): see where the intent stands.
            intent = intent_get(intent_id=intent_id)
            if intent.status not in ("requires_capture", *NEEDS_CUSTOMER):
                raise InvalidPaymentMethod(exc.user_message or None) from exc
    return payment_settle(order=order, intent=intent, actor=Actor.PAYMENT, declined_raises=True)


# --- Reconciler and expiry --------------------------------------------------------------------


def order_intent_release(order: Order) -> None:
    """Cancel the intent of an order that will never be captured, and record it on the order.
    Stripe unreachable: PaymentsUnavailable (a retry of the same call releases it)."""
    if order.payment is None or order.payment.status == "canceled":
        return
    intent = intent_cancel(intent_id=order.payment.intent_id)
    if intent is None:
        logger.error("Order %s is %s but its intent was captured", order.order_id, order.status)
        return
    order.update(actions=[Order.payment.status.set("canceled"), Order.version.add(1)])


def order_expire(*, order: Order) -> bool:
    """AWAITING_PAYMENT -> EXPIRED (reason `payment_timeout`), then its intent is cancelled. The
    status moves first: a payment that lands meanwhile finds the order EXPIRED and is released."""
    if not order_transition(
        order,
        source=Order.AWAITING_PAYMENT,
        target=Order.EXPIRED,
        actor=Actor.RECONCILER,
        reason="payment_timeout",
        actions=[Order.reason.set("payment_timeout")],
    ):
        return False
    try:
        order_intent_release(order)
    except Exception:
        # Stripe releases an uncaptured authorisation by itself after some days; logged.
        logger.warning(
            "Order %s EXPIRED; its intent could not be cancelled now", order.order_id, exc_info=True
        )
    order_notify(order_id=order.order_id)
    return True


def _payment_reconcile_one(order: Order, *, now: datetime) -> str:
    if order.payment is None:
        return "skipped"
    intent = intent_get(intent_id=order.payment.intent_id)
    if intent.status == "requires_capture":
        try:
            outcome = payment_settle(
                order=order, intent=intent, actor=Actor.RECONCILER, declined_raises=False
            )
        except OrderNotPayable:
            return "skipped"
        return "paid" if outcome.status_code == 202 else "skipped"
    if (now - order.created_at).total_seconds() >= settings.PAYMENT_TIMEOUT_SECONDS:
        return "expired" if order_expire(order=order) else "skipped"
    return "waiting"


def payments_reconcile(
    *, now: datetime | None = None, older_than_seconds: int | None = None
) -> dict[str, int]:
    """Ask Stripe about the orders AWAITING_PAYMENT longer than PAYMENTS_RECONCILE_AFTER_SECONDS
    (webhooks get lost; localstripe sends none for authorisations): authorised ones become
    PENDING (and are published), those unpaid past PAYMENT_TIMEOUT_SECONDS become EXPIRED.
    Returns the count of each outcome. Stripe unreachable ends the run early (the next one
    resumes); found through the status index, never a Scan."""
    if settings.PAYMENTS_PROVIDER != "stripe":
        return {}
    now = now or _now()
    age = settings.PAYMENTS_RECONCILE_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    orders = orders_awaiting_payment(
        created_before=now - timedelta(seconds=age), limit=settings.PAYMENTS_RECONCILE_BATCH
    )
    outcomes: Counter[str] = Counter()
    for order in orders:
        try:
            outcomes[_payment_reconcile_one(order, now=now)] += 1
        except PaymentsUnavailable:
            outcomes["stripe_unavailable"] += 1
            break
    if orders:
        logger.info(
            "payments_reconcile: %s",
            ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())),
            extra={"event": "payments_reconcile", **outcomes},
        )
    return dict(outcomes)

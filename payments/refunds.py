"""Staff refunds of an order's captured payment: reserved on the order, made at Stripe, recorded.

Never more than was captured, whatever runs at once: every change here is a conditional update
of the one order item on the `version` read (so two refunds never both pass a check made on the
same state), in three steps:
1. Reserve: the refund, by its Idempotency-Key, joins the order's `refund_requests` as RESERVED,
   on condition that captured - refunded - reserved still covers it. Its amount is then held.
2. Stripe: `POST /v1/refunds` (payment_intent, amount; our key in its metadata). Stripe refusing
   releases the reservation. Stripe unreachable (or a 5xx) leaves it reserved: the outcome is
   unknown, and a retry with the same key first looks for a refund carrying that key at Stripe
   before making one (localstripe ignores idempotency keys; our own record is what makes a retry
   safe). While one attempt is asking Stripe, it holds the request (`claimed_until`), so a double
   click waits for it instead of refunding twice.
3. Record: amount_refunded, the refund in `payment.refunds`, the request DONE and the order
   PARTIALLY_REFUNDED or REFUNDED (orders/lifecycle.py, actor staff), in one conditional update;
   with `restock`, the same transaction puts every line's units back in stock.

Restocking: units go back once per order, with the refund that takes all that is left of the
captured amount (the order then ends REFUNDED once every reserved refund is recorded). An amount
alone does not say which lines it pays back, so a partial refund never restocks (409
`restock_not_allowed`): refund the goods that came back by amount, and restock with the last one.
"""

import hashlib
import itertools
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from catalog.models import Product
from cloudcart.aws import is_transient_aws_error
from cloudcart.errors import ServiceUnavailable
from cloudcart.money import format_cents
from notifications.services import order_notify
from orders.errors import IdempotencyKeyReused, OrderNotFound
from orders.lifecycle import Actor, transition_update
from orders.models import Order, PaymentRefund, RefundRequest
from payments.errors import (
    OrderNotPaid,
    PaymentDeclined,
    PaymentsUnavailable,
    RefundExceedsCaptured,
    RefundInProgress,
    RefundRefused,
    RestockNotAllowed,
)
from payments.stripe_client import stripe_call, stripe_client

logger = logging.getLogger(__name__)

RESERVED = "RESERVED"
DONE = "DONE"
REFUNDABLE_STATUSES = (Order.CONFIRMED, Order.PARTIALLY_REFUNDED)
# The metadata field that carries our key to Stripe (found again by a retry after an unknown outcome).
METADATA_KEY = "cloudcart_refund_key"
# How long a refund may take at most, conflicts with other writers included.
DEADLINE_SECONDS = 10


@dataclass(frozen=True)
class Refund:
    """A refund as made (or as made earlier, `replayed`, for a repeated Idempotency-Key)."""

    refund_id: str
    amount_cents: int
    currency: str
    restock: bool
    reason: str | None
    created_at: datetime
    by: str | None
    order: Order
    replayed: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def refund_key(*, order_id: str, idempotency_key: str) -> str:
    """The stored key: the order and the client's key, hashed (one key may serve many orders)."""
    return hashlib.sha256(f"{order_id}\n{idempotency_key}".encode()).hexdigest()


def _request_hash(*, amount_cents: int | None, restock: bool, reason: str | None) -> str:
    canonical = {"amount": amount_cents, "restock": restock, "reason": reason}
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def _claim_seconds() -> int:
    """Longer than one Stripe call with its retries may last: past it, the attempt is dead."""
    return int(settings.STRIPE_TIMEOUT_SECONDS * (settings.STRIPE_MAX_NETWORK_RETRIES + 1)) + 5


def _version(order: Order) -> int | None:
    return None if order.version is None else int(order.version)


def _unchanged(order: Order):
    """The condition that the order is still as read: its version (absent on older orders)."""
    version = _version(order)
    return Order.version.does_not_exist() if version is None else Order.version == version


def _requests(order: Order) -> list[RefundRequest]:
    return list(order.refund_requests or [])


def _request_of(order: Order, key: str) -> RefundRequest | None:
    return next((request for request in _requests(order) if request.key == key), None)


def _reserved_cents(order: Order) -> int:
    return sum(int(r.amount_cents) for r in _requests(order) if r.state == RESERVED)


def refundable_cents(order: Order) -> int:
    """What is left to refund: captured, less refunded, less what refunds in flight hold."""
    payment = order.payment
    if payment is None:
        return 0
    captured = int(payment.amount_captured_cents or 0)
    refunded = int(payment.amount_refunded_cents or 0)
    return captured - refunded - _reserved_cents(order)


def _order_read(order_id: str) -> Order:
    try:
        return Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist as exc:
        raise OrderNotFound() from exc


def _conflict_backoff(*, attempt: int, deadline: float) -> None:
    """Another writer changed the order between our read and our write: read again soon."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise ServiceUnavailable("The order is busy; retry with the same Idempotency-Key.")
    time.sleep(min(left, random.uniform(0, min(0.5, 0.01 * 2**attempt))))


def _update(order: Order, *, actions: list, condition) -> bool:
    """One conditional UpdateItem of the order; False when the condition failed."""
    try:
        order.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        if is_transient_aws_error(exc):
            raise ServiceUnavailable() from exc
        raise
    return True


# --- 1. Reserve -----------------------------------------------------------------------------


def _reserve(
    order: Order,
    *,
    key: str,
    request_hash: str,
    amount_cents: int | None,
    restock: bool,
    reason: str | None,
    actor: str,
) -> RefundRequest | None:
    """Hold the refund's amount on the order; None when the order changed under us (read again)."""
    if order.status == Order.REFUNDED:
        raise RefundExceedsCaptured(extra={"refundable": format_cents(0), "currency": order.currency})
    if order.status not in REFUNDABLE_STATUSES or order.payment is None:
        raise OrderNotPaid()
    available = refundable_cents(order)
    amount = available if amount_cents is None else amount_cents
    if amount <= 0 or amount > available:
        raise RefundExceedsCaptured(
            extra={"refundable": format_cents(max(0, available)), "currency": order.currency}
        )
    if restock and order.restocked_at is not None:
        raise RestockNotAllowed("This order's units were already put back in stock.")
    if restock and amount != available:
        raise RestockNotAllowed(
            f"Restocking goes with the refund of all that is left ({format_cents(available)} "
            f"{order.currency}): an amount alone does not say which lines came back."
        )
    now = _now()
    request = RefundRequest(
        key=key,
        request_hash=request_hash,
        amount_cents=amount,
        restock=restock,
        reason=reason,
        by=actor,
        created_at=now,
        state=RESERVED,
        claimed_until=now + timedelta(seconds=_claim_seconds()),
    )
    reserved = _update(
        order,
        actions=[Order.refund_requests.set([*_requests(order), request]), Order.version.add(1)],
        condition=_unchanged(order) & Order.status.is_in(*REFUNDABLE_STATUSES),
    )
    return request if reserved else None


def _take_over(order: Order, *, request: RefundRequest) -> RefundRequest | None:
    """Claim a reserved request whose earlier attempt is gone; None when the order changed."""
    now = _now()
    claimed = RefundRequest(
        **{**request.attribute_values, "claimed_until": now + timedelta(seconds=_claim_seconds())}
    )
    requests = [claimed if r.key == request.key else r for r in _requests(order)]
    taken = _update(
        order,
        actions=[Order.refund_requests.set(requests), Order.version.add(1)],
        condition=_unchanged(order),
    )
    return claimed if taken else None


def _release(*, order_id: str, key: str, unclaim_only: bool) -> None:
    """Give the reservation back (Stripe refused), or only the claim (the outcome is unknown:
    a retry with the same key may take it over at once, and looks at Stripe first)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    for attempt in itertools.count():
        order = _order_read(order_id)
        request = _request_of(order, key)
        if request is None or request.state != RESERVED:
            return
        if unclaim_only:
            released = RefundRequest(**{**request.attribute_values, "claimed_until": _now()})
            requests = [released if r.key == key else r for r in _requests(order)]
        else:
            requests = [r for r in _requests(order) if r.key != key]
        if _update(
            order,
            actions=[Order.refund_requests.set(requests), Order.version.add(1)],
            condition=_unchanged(order),
        ):
            return
        _conflict_backoff(attempt=attempt, deadline=deadline)


# --- 2. Stripe ------------------------------------------------------------------------------


def _stripe_refund_find(*, intent_id: str, key: str) -> str | None:
    """A refund an earlier attempt made for this key (its outcome was unknown to us), if any."""
    found = stripe_call(stripe_client().v1.refunds.list, params={"payment_intent": intent_id, "limit": 100})
    for refund in found.data:
        if (refund.to_dict().get("metadata") or {}).get(METADATA_KEY) == key:
            return refund.id
    return None


def _stripe_refund(*, order: Order, request: RefundRequest, look_first: bool) -> str:
    """Stripe's refund id for `request`: an earlier attempt's (when `look_first`) or a new one."""
    intent_id = order.payment.intent_id
    if look_first:
        existing = _stripe_refund_find(intent_id=intent_id, key=request.key)
        if existing:
            logger.info("Refund %s of order %s was made by an earlier attempt", existing, order.order_id)
            return existing
    refund = stripe_call(
        stripe_client().v1.refunds.create,
        params={
            "payment_intent": intent_id,
            "amount": int(request.amount_cents),
            "metadata": {METADATA_KEY: request.key, "order_id": order.order_id},
        },
        # Honoured by Stripe (not by localstripe): a network retry by the library is no second refund.
        options={"idempotency_key": f"refund-{request.key}"},
    )
    return refund.id


# --- 3. Record ------------------------------------------------------------------------------


def _record_update(order: Order, *, request: RefundRequest, refund_id: str, now: datetime) -> dict:
    payment = order.payment
    refunded = int(payment.amount_refunded_cents or 0) + int(request.amount_cents)
    target = Order.REFUNDED if refunded >= int(payment.amount_captured_cents) else Order.PARTIALLY_REFUNDED
    done = RefundRequest(
        **{**request.attribute_values, "state": DONE, "refund_id": refund_id, "claimed_until": None}
    )
    entry = PaymentRefund(
        refund_id=refund_id,
        amount_cents=int(request.amount_cents),
        restock=bool(request.restock),
        reason=request.reason,
        created_at=request.created_at,
        by=request.by,
    )
    actions = [
        Order.payment.amount_refunded_cents.set(refunded),
        Order.payment.refunds.set([*(payment.refunds or []), entry]),
        Order.refund_requests.set([done if r.key == request.key else r for r in _requests(order)]),
    ]
    condition = _unchanged(order)
    if request.restock:
        actions.append(Order.restocked_at.set(now))
        condition = condition & Order.restocked_at.does_not_exist()
    return transition_update(
        source=order.status, target=target, actor=Actor.STAFF, at=now, actions=actions, condition=condition
    )


def _record(*, order_id: str, key: str, refund_id: str) -> Order:
    """Record Stripe's refund on the order (and restock, in the same transaction), once."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    skipped: set[str] = set()  # products gone from the catalog: nothing to restock there
    for attempt in itertools.count():
        order = _order_read(order_id)
        request = _request_of(order, key)
        if request is None:
            raise AssertionError(f"refund {refund_id} of order {order_id}: its reservation is gone")
        if request.state == DONE:
            return order  # recorded by another attempt
        now = _now()
        update = _record_update(order, request=request, refund_id=refund_id, now=now)
        lines = [line for line in order.items if line.product_id not in skipped] if request.restock else []
        try:
            if lines:
                with TransactWrite(connection=Order._get_connection().connection) as tx:
                    tx.update(order, **update)
                    for line in lines:
                        tx.update(
                            Product(id=line.product_id),
                            actions=[Product.stock.add(int(line.qty)), Product.updated_at.set(now)],
                            condition=Product.id.exists(),
                        )
                order.refresh(consistent_read=True)
                return order
            if _update(order, **update):
                return order
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in (exc.cancellation_reasons or [])]
            gone = {
                line.product_id
                for line, code in zip(lines, reasons[1:], strict=False)
                if code == "ConditionalCheckFailed"
            }
            if gone:
                logger.warning(
                    "Refund of order %s: products %s no longer exist, not restocked", order_id, gone
                )
                skipped |= gone
            elif not reasons or (reasons[0] != "ConditionalCheckFailed" and not is_transient_aws_error(exc)):
                if not any(code == "TransactionConflict" for code in reasons):
                    raise
        except PutError as exc:  # pragma: no cover - an update never puts
            raise ServiceUnavailable() from exc
        _conflict_backoff(attempt=attempt, deadline=deadline)
    raise AssertionError("unreachable")  # pragma: no cover


# --- The service ----------------------------------------------------------------------------


def _refund_of(order: Order, request: RefundRequest, *, replayed: bool) -> Refund:
    return Refund(
        refund_id=request.refund_id,
        amount_cents=int(request.amount_cents),
        currency=order.currency,
        restock=bool(request.restock),
        reason=request.reason,
        created_at=request.created_at,
        by=request.by,
        order=order,
        replayed=replayed,
    )


def order_refund(
    *,
    order_id: str,
    amount_cents: int | None,
    restock: bool,
    reason: str | None,
    idempotency_key: str,
    actor: str,
) -> Refund:
    """Refund `amount_cents` (None: all that is left) of the order's captured payment, once per
    Idempotency-Key; with `restock`, put the order's units back (see the module's rule).

    Raises OrderNotFound, OrderNotPaid, RefundExceedsCaptured, RestockNotAllowed,
    IdempotencyKeyReused (same key, another body), RefundInProgress (the same key is being
    refunded right now), RefundRefused (Stripe said no: nothing held any more) and
    ServiceUnavailable (Stripe or DynamoDB unreachable: retry with the same key).
    """
    key = refund_key(order_id=order_id, idempotency_key=idempotency_key)
    request_hash = _request_hash(amount_cents=amount_cents, restock=restock, reason=reason)
    deadline = time.monotonic() + DEADLINE_SECONDS
    for attempt in itertools.count():
        order = _order_read(order_id)
        request = _request_of(order, key)
        resumed = request is not None
        if request is not None:
            if request.request_hash != request_hash:
                raise IdempotencyKeyReused()
            if request.state == DONE:
                return _refund_of(order, request, replayed=True)
            left = (request.claimed_until - _now()).total_seconds() if request.claimed_until else 0
            if left > 0:
                raise RefundInProgress(retry_after=max(1, int(left) + 1))
            request = _take_over(order, request=request)
        else:
            request = _reserve(
                order,
                key=key,
                request_hash=request_hash,
                amount_cents=amount_cents,
                restock=restock,
                reason=reason,
                actor=actor,
            )
        if request is not None:
            break
        _conflict_backoff(attempt=attempt, deadline=deadline)

    try:
        refund_id = _stripe_refund(order=order, request=request, look_first=resumed)
    except PaymentsUnavailable:
        # Unreachable, timed out or a 5xx: the refund may have been made. Keep the amount held;
        # a retry with the same key looks at Stripe before making one.
        _release(order_id=order_id, key=key, unclaim_only=True)
        logger.warning("Refund of order %s: Stripe's answer is unknown; kept reserved", order_id)
        raise
    except PaymentDeclined as exc:  # a card error: Stripe refused, nothing refunded
        _release(order_id=order_id, key=key, unclaim_only=False)
        raise RefundRefused(str(exc.detail)) from exc
    except stripe.StripeError as exc:
        # A definite no (Stripe answered 4xx): nothing was refunded; the amount is free again.
        _release(order_id=order_id, key=key, unclaim_only=False)
        logger.warning("Stripe refused the refund of order %s: %s", order_id, exc.user_message or exc)
        raise RefundRefused(exc.user_message or str(exc)) from exc

    order = _record(order_id=order_id, key=key, refund_id=refund_id)
    logger.info(
        "order_refunded",
        extra={
            "event": "order_refunded",
            "order_id": order_id,
            "refund_id": refund_id,
            "amount": format_cents(request.amount_cents),
            "restock": bool(request.restock),
            "status": order.status,
        },
    )
    # The refund's event, e-mail and SMS. If this enqueue is lost, the order's next enqueue sends
    # it (the notify task derives everything from the order).
    order_notify(order_id=order_id)
    return _refund_of(order, _request_of(order, key), replayed=False)

"""The worker's path for a paid order: take the stock, then capture, then CONFIRMED (or give it back).

1. ONE transaction takes every line's stock (`stock >= qty`) and marks the order `stock_taken_at`
   (condition: still PENDING, not yet marked); the order stays PENDING. Short of stock: the intent
   is cancelled first (nothing charged), then the order REJECTED (`out_of_stock`).
2. Capture at Stripe. A redelivery (the worker killed after step 1) finds the mark and goes
   straight here, so the stock is taken once; a capture that already happened is recognised
   (the intent `succeeded`), so the money is captured once.
3. PENDING -> CONFIRMED with the captured amount (or FAILED -> CONFIRMED: the reconciler gave
   up on the order while its capture was in flight; the money taken wins). A capture that fails
   gives the stock back and rejects the order (`payment_failed`) in ONE transaction. Stripe
   unreachable: OrderRetryLater (the task retries; past its budget the reconciler FAILs the
   order as for any order, the stock stays taken for it, and an operator's retry captures).
An order marked `stock_taken_at` cannot be cancelled (orders.services.order_cancel), so nothing
is ever captured for an order that is not on its way to CONFIRMED.
"""

import logging

import stripe
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from catalog.models import Product
from cloudcart.aws import is_transient_aws_error
from orders.lifecycle import Actor, order_transition, transition_update
from orders.models import Order
from orders.services import (
    CONDITION_FAILED,
    RETRYABLE_REASONS,
    OrderRetryLater,
    _connection,
    _now,
    _order_log_final,
    _reasons,
    short_products,
    stock_take_updates,
)
from payments.errors import PaymentDeclined, PaymentsUnavailable
from payments.intents import intent_cancel, intent_cancel_quietly, intent_capture, intent_get

logger = logging.getLogger(__name__)

_FINISHED = "finished"


def _transient(exc: Exception, order_id: str) -> OrderRetryLater:
    return OrderRetryLater(f"order {order_id}: {exc}")


def _stock_take(order: Order) -> list[str] | str | None:
    """Step 1. None once the stock is taken (by this call or a concurrent delivery); the products
    short of stock; or _FINISHED when another delivery already moved the order on."""
    now = _now()
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(
                order,
                actions=[Order.stock_taken_at.set(now)],
                condition=(Order.status == Order.PENDING) & Order.stock_taken_at.does_not_exist(),
            )
            stock_take_updates(tx, order, at=now)
    except TransactWriteError as exc:
        reasons = _reasons(exc)
        if reasons and reasons[0] == CONDITION_FAILED:
            order.refresh(consistent_read=True)
            if order.status == Order.PENDING and order.stock_taken_at is not None:
                return None  # a concurrent delivery took it: capture
            logger.info("process_order: order %s finished by another delivery", order.order_id)
            return _FINISHED
        short = short_products(order, reasons)
        if short:
            return short
        if RETRYABLE_REASONS.intersection(reasons) or is_transient_aws_error(exc):
            raise _transient(reasons or exc, order.order_id) from exc
        raise
    except Exception as exc:
        if is_transient_aws_error(exc):
            raise _transient(exc, order.order_id) from exc
        raise
    order.stock_taken_at = now
    return None


def _reject_short(order: Order, *, short: list[str]) -> str | None:
    """Out of stock: release the authorisation first (so a crash in between leaves nothing held
    for a rejected order), then REJECTED if the order is still PENDING with no stock taken."""
    try:
        intent = intent_cancel(intent_id=order.payment.intent_id)
    except PaymentsUnavailable as exc:
        raise _transient(exc, order.order_id) from exc
    status = intent.status if intent is not None else "succeeded"
    moved = order_transition(
        order,
        source=Order.PENDING,
        target=Order.REJECTED,
        actor=Actor.WORKER,
        reason="out_of_stock",
        actions=[
            Order.reason.set("out_of_stock"),
            Order.reason_products.set(short),
            Order.payment.status.set(status),
        ],
        condition=Order.stock_taken_at.does_not_exist(),
    )
    if not moved:
        return None
    _order_log_final(order)
    return Order.REJECTED


def _capture_failed(order: Order, *, detail: str, intent_status: str) -> str | None:
    """The capture failed for good: the stock goes back and the order is REJECTED
    (`payment_failed`) in ONE transaction; then the authorisation is released."""
    now = _now()
    lines = list(order.items)
    for _ in range(2):
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.update(
                    order,
                    **transition_update(
                        source=Order.PENDING,
                        target=Order.REJECTED,
                        actor=Actor.WORKER,
                        at=now,
                        reason="payment_failed",
                        actions=[
                            Order.reason.set("payment_failed"),
                            Order.payment.status.set(intent_status),
                            Order.payment.last_error.set(detail[:500]),
                        ],
                        condition=Order.stock_taken_at.exists(),
                    ),
                )
                for line in lines:
                    tx.update(
                        Product(id=line.product_id),
                        actions=[Product.stock.add(int(line.qty)), Product.updated_at.set(now)],
                        condition=Product.id.exists(),  # never recreate a deleted product
                    )
            break
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            if reasons and reasons[0] == CONDITION_FAILED:
                return None  # another delivery finished it
            gone = {
                line.product_id
                for line, reason in zip(lines, reasons[1:], strict=False)
                if reason == CONDITION_FAILED
            }
            if gone:
                lines = [line for line in lines if line.product_id not in gone]
                continue
            if RETRYABLE_REASONS.intersection(reasons) or is_transient_aws_error(exc):
                raise _transient(reasons or exc, order.order_id) from exc
            raise
    order.refresh(consistent_read=True)
    intent_cancel_quietly(intent_id=order.payment.intent_id)
    logger.warning("Order %s REJECTED: the capture failed (%s); stock given back", order.order_id, detail)
    _order_log_final(order)
    return Order.REJECTED


def _capture_and_confirm(order: Order) -> str | None:
    """Steps 2 and 3: capture (once), then CONFIRMED with the captured amount."""
    intent_id = order.payment.intent_id
    try:
        intent = intent_capture(intent_id=intent_id)
        detail = f"the intent is {intent.status} after its capture"
    except PaymentsUnavailable as exc:
        raise _transient(exc, order.order_id) from exc
    except (PaymentDeclined, stripe.StripeError) as exc:
        detail = str(getattr(exc, "detail", None) or getattr(exc, "user_message", None) or exc)
        try:
            intent = intent_get(intent_id=intent_id)  # captured by an earlier delivery?
        except PaymentsUnavailable as unavailable:
            raise _transient(unavailable, order.order_id) from unavailable
    if intent.status != "succeeded":
        return _capture_failed(order, detail=detail, intent_status=intent.status)
    # We capture the whole authorisation (localstripe has no `amount_received`).
    captured = int(intent.amount)
    paid = [Order.payment.status.set(intent.status), Order.payment.amount_captured_cents.set(captured)]
    # The money is taken: the order is CONFIRMED, whatever came between. Only the reconciler's
    # FAILED can (the order's publishes ran out while this capture was in flight): it yields to
    # the capture. An operator's retry of it meanwhile makes it PENDING again: try once more.
    for _ in range(3):
        source = order.status
        if source not in (Order.PENDING, Order.FAILED):
            return None  # another delivery confirmed it
        if order_transition(
            order,
            source=source,
            target=Order.CONFIRMED,
            actor=Actor.WORKER,
            actions=[*paid, Order.reason.remove()] if source == Order.FAILED else paid,
            condition=Order.stock_taken_at.exists(),
        ):
            if source == Order.FAILED:
                logger.warning("Order %s FAILED while its capture was in flight: CONFIRMED", order.order_id)
            _order_log_final(order)
            return Order.CONFIRMED
        order.refresh(consistent_read=True)
    raise _transient("the order kept changing under its capture", order.order_id)


def order_process_paid(order: Order) -> str | None:
    """Process a PENDING order with a payment (see the module's docstring). Returns the final
    status this call set, or None when another delivery finished the order."""
    if order.stock_taken_at is None:
        taken = _stock_take(order)
        if taken == _FINISHED:
            return None
        if taken:
            return _reject_short(order, short=taken)
    return _capture_and_confirm(order)

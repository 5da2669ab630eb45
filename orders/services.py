"""Order writes: place an order (idempotently), process it in one transaction, republish stale ones.

The rules (HANDBOOK section 6):
- Checkout prices every line from consistent catalog reads and stores the order PENDING in ONE
  TransactWriteItems with the cart's guard (a cart checkout: the cart still at the version read,
  its ordered lines removed, the order marked on it), the idempotency record when a key came, and
  the client's throttle count; then it publishes the task. An uncertain outcome (a timeout) is
  settled by a consistent read of the order's id, and the whole checkout is bounded in time.
- The worker applies every stock decrement and the status change in ONE transaction whose
  conditions are `stock >= qty` on each line and `status = PENDING` on the order, so an order is
  applied at most once and stock never goes below zero, however often its message is delivered.
- A stored order is never lost: if the publish fails, the reconciler publishes it later.
"""

import functools
import hashlib
import itertools
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
from django.conf import settings
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from cart.errors import OutOfStock
from cart.selectors import cart_live_get
from cart.store import CartState, cart_checkout_update, cart_item_read, cart_state, cart_throttle_update
from catalog.models import Product
from catalog.selectors import products_get_many
from cloudcart import aws
from cloudcart.aws import is_transient_aws_error
from cloudcart.errors import ApplicationError, ServiceUnavailable
from cloudcart.logs import request_id_var
from cloudcart.money import format_cents
from cloudcart.throttling import WriteLimit
from notifications.services import order_notify
from orders.errors import (
    CartCheckedOut,
    CartEmpty,
    IdempotencyKeyReused,
    OrderNotCancellable,
    TotalMismatch,
    UnknownProducts,
)
from orders.lifecycle import Actor, initial_history, order_transition, sources_of, transition_update
from orders.models import IdempotencyKey, Order, OrderLine, Payment, ShippingAddress
from orders.selectors import (
    idempotency_record_get,
    order_get,
    orders_due_for_republish,
    orders_pending_oldest,
)
from orders.serializers import order_data
from payments.intents import PROVIDER, intent_cancel_quietly, intent_open

logger = logging.getLogger(__name__)

CONDITION_FAILED = "ConditionalCheckFailed"
# Cancellation reasons that mean "try the same transaction again later".
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


class OrderRetryLater(Exception):
    """A transient failure (AWS unreachable or throttling, a transaction conflict): retry the task."""


@dataclass(frozen=True)
class LineRequest:
    product_id: str
    qty: int


@dataclass(frozen=True)
class Placement:
    """The answer to a checkout: the first one, or its replay for a repeated Idempotency-Key."""

    order_id: str
    status_code: int
    body: dict
    replayed: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def _connection():
    # The orders model's own connection (endpoint, credentials, timeouts from cloudcart.aws).
    return Order._get_connection().connection


def _reasons(exc: TransactWriteError) -> list[str | None]:
    return [reason.code if reason else None for reason in (exc.cancellation_reasons or [])]


def idempotency_scoped_key(*, scope: str, key: str) -> str:
    """The stored key: the client's scope and its key, hashed (neither is stored in clear).

    Two clients that pick the same key never see each other's orders.
    """
    return hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


@dataclass(frozen=True)
class Contact:
    """Where to ship and whom to text (all optional at checkout; stored on the order)."""

    shipping_address: dict | None = None
    phone: str | None = None
    sms_opt_in: bool = False

    def fingerprint(self) -> dict | None:
        """What the idempotency fingerprint holds of it; None when nothing was given."""
        if self.shipping_address is None and self.phone is None and not self.sms_opt_in:
            return None
        address = dict(sorted(self.shipping_address.items())) if self.shipping_address else None
        return {"shipping_address": address, "phone": self.phone, "sms_opt_in": self.sms_opt_in}


def checkout_request_hash(
    *,
    lines: list[LineRequest] | None,
    client_total_cents: int | None,
    email: str | None = None,
    contact: Contact | None = None,
) -> str:
    """A fingerprint of what was asked: the same key with another fingerprint is a misuse (422)."""
    canonical = {
        "items": None if lines is None else [[line.product_id, line.qty] for line in lines],
        "total": client_total_cents,
    }
    # Each absent from the fingerprint when not given: older keys still match.
    if email is not None:
        canonical["email"] = email
    contact_given = contact.fingerprint() if contact else None
    if contact_given is not None:
        canonical["contact"] = contact_given
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class CheckoutRequest:
    """What one checkout asks for: the same on every attempt to store it."""

    lines: list[LineRequest] | None  # None: the client's cart
    client_total_cents: int | None
    cart_id: str
    scoped_key: str | None
    request_hash: str
    request_id: str | None
    email: str | None
    customer_id: str | None
    throttle: WriteLimit | None
    contact: Contact

    @property
    def from_cart(self) -> bool:
        return self.lines is None


def _lines_merge(lines: list[LineRequest]) -> list[LineRequest]:
    """One line per product (a transaction may touch an item once), in first-seen order."""
    merged: dict[str, int] = {}
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.qty
    return [LineRequest(product_id, qty) for product_id, qty in merged.items()]


def _order_build(*, lines: list[LineRequest], request: CheckoutRequest) -> Order:
    """Price the lines from consistent catalog reads, check the total and the stock, build the
    order: PENDING, or AWAITING_PAYMENT when payments are on."""
    client_total_cents = request.client_total_cents
    products = products_get_many(product_ids=[line.product_id for line in lines], consistent=True)
    unknown = [line.product_id for line in lines if line.product_id not in products]
    if unknown:
        raise UnknownProducts(extra={"products": unknown})

    items = []
    total = 0
    for line in lines:
        product = products[line.product_id]
        unit = int(product.price_cents)
        items.append(OrderLine(product_id=product.id, name=product.name, unit_price_cents=unit, qty=line.qty))
        total += unit * line.qty
    if client_total_cents is not None and client_total_cents != total:
        raise TotalMismatch(extra={"total": format_cents(total), "currency": settings.SHOP_CURRENCY})

    # A quick pre-check: the worker's transaction is what guarantees stock, this only spares the
    # client an order that cannot succeed now.
    short = [
        {"id": line.product_id, "requested": line.qty, "available": int(products[line.product_id].stock)}
        for line in lines
        if int(products[line.product_id].stock) < line.qty
    ]
    if short:
        names = ", ".join(item["id"] for item in short)
        raise OutOfStock(f"Not enough stock for: {names}.", extra={"products": short})

    now = _now()
    paid = settings.PAYMENTS_PROVIDER == "stripe"
    status = Order.AWAITING_PAYMENT if paid else Order.PENDING
    contact = request.contact
    return Order(
        order_id=secrets.token_hex(16),  # 128 random bits: unguessable
        status=status,
        items=items,
        total_cents=total,
        currency=settings.SHOP_CURRENCY,
        cart_id=request.cart_id,
        customer_id=request.customer_id,
        email=request.email,
        created_at=now,
        history=initial_history(status=status, at=now),
        version=1,
        request_id=request.request_id,
        # Checkout publishes a PENDING order right after storing it: that is its first counted
        # publish. Its first republish is due ORDERS_RECONCILE_AFTER_SECONDS after created_at, by
        # the reconciler's own setting (so no republish_at yet). An order awaiting payment is
        # first published when it is paid (payments.services).
        publishes=None if paid else 1,
        shipping_address=ShippingAddress(**contact.shipping_address) if contact.shipping_address else None,
        phone=contact.phone,
        sms_opt_in=contact.sms_opt_in if contact.phone else None,
    )


def _replay(record: IdempotencyKey, *, request_hash: str) -> Placement:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused()
    placement = Placement(
        order_id=record.order_id,
        status_code=int(record.response_status),
        body=json.loads(record.response_body),
        replayed=True,
    )
    # The first publish may have been lost (SQS down, a crash after the write): a retrying client
    # gets the order moving again. Processing is idempotent, so an extra message is harmless.
    try:
        order = Order.get(record.order_id, consistent_read=True)
    except Order.DoesNotExist:
        return placement
    if order.status == Order.PENDING:
        order_publish(order_id=order.order_id)
    return placement


def _record_replay(*, scoped_key: str | None, request_hash: str) -> Placement | None:
    """The stored answer to this client's key, if there is a live one."""
    if not scoped_key:
        return None
    record = idempotency_record_get(key=scoped_key)
    return None if record is None else _replay(record, request_hash=request_hash)


def _backoff(*, attempt: int, deadline: float) -> None:
    """Sleep a little (full jitter, growing), never past the deadline; 503 once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise ServiceUnavailable("Checkout is busy; please retry (with the same Idempotency-Key).")
    time.sleep(min(left, random.uniform(0, min(0.5, 0.01 * 2**attempt))))


def _order_landed(order_id: str) -> bool | None:
    """Whether the order is stored (consistent read); None when DynamoDB cannot say right now."""
    try:
        Order.get(order_id, consistent_read=True, attributes_to_get=["order_id"])
    except Order.DoesNotExist:
        return False
    except Exception as exc:
        if is_transient_aws_error(exc):
            return None
        raise
    return True


# `_transact`'s answer when a write timed out and the order is not (yet) there.
UNCERTAIN = "uncertain"


def _transact(items: list[dict], *, order_id: str, deadline: float) -> list[dict] | str | None:
    """Run checkout's transaction: None once it is applied, the cancellation reasons (one per item)
    when a condition refused it, UNCERTAIN when it timed out and a consistent read does not find
    the order. Conflicts with other transactions are retried with backoff until `deadline`.

    The order's id is the transaction's ClientRequestToken, and the caller retries the SAME
    transaction after an uncertain outcome: if an earlier attempt did land, DynamoDB answers the
    retry with success (or, where the token is not honoured, the order's own condition fails,
    which says the same). So an uncertain write never becomes two orders.
    """
    client = aws.client("dynamodb")
    for attempt in itertools.count():
        try:
            client.transact_write_items(TransactItems=items, ClientRequestToken=order_id)
            return None
        except ClientError as exc:
            error = exc.response.get("Error", {}).get("Code")
            if error == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                codes = [reason.get("Code") for reason in reasons]
                if codes and codes[0] == CONDITION_FAILED:
                    return None  # the order exists: an earlier attempt of ours landed
                if CONDITION_FAILED in codes or not RETRYABLE_REASONS.intersection(codes):
                    return reasons
                # A conflict with another transaction on one of the items, or throttling: again.
                logger.info(
                    "Order %s: transaction cancelled (%s); retrying", order_id, ",".join(map(str, codes))
                )
            elif error != "TransactionInProgressException" and not is_transient_aws_error(exc):
                raise
        except Exception as exc:
            if not is_transient_aws_error(exc):
                raise
            # Timed out or cut off: the transaction may or may not have been applied.
            logger.warning("Order %s: uncertain write (%s); checking", order_id, type(exc).__name__)
            landed = _order_landed(order_id)
            if landed:
                return None
            if landed is False:
                return UNCERTAIN
        _backoff(attempt=attempt, deadline=deadline)
    return None  # pragma: no cover - the loop only ends by returning or raising


def _placed(placement: Placement) -> Placement:
    """The order is stored: publish it (unless it awaits payment) and its first event, and answer."""
    if placement.body.get("status") == Order.PENDING:
        order_publish(order_id=placement.order_id)
    # If this enqueue is lost, the worker's enqueue after the order's final state sends it too
    # (the notify task walks the order's whole history).
    order_notify(order_id=placement.order_id)
    return placement


def _cart_lines(cart: CartState | None) -> list[LineRequest]:
    if cart is None or not cart.lines:
        raise CartEmpty()
    return [LineRequest(product_id, qty) for product_id, qty in sorted(cart.lines.items())]


def _checked_out_by(cart: CartState | None, *, version: int) -> str | None:
    """The order made from this cart at `version`, if any."""
    if cart is None or cart.last_order_id is None or cart.last_order_version != version:
        return None
    return cart.last_order_id


def _checkout_draft(request: CheckoutRequest) -> Placement | tuple[Order, CartState | None]:
    """Read what is checked out (the cart, or the given lines) and build the order from the
    catalog; or the answer already given to this request (a replay)."""
    cart = None
    try:
        if request.from_cart:
            cart = cart_live_get(cart_id=request.cart_id)
            if cart is not None and not cart.lines:
                order_id = _checked_out_by(cart, version=cart.version - 1)
                if order_id:
                    replay = _record_replay(scoped_key=request.scoped_key, request_hash=request.request_hash)
                    if replay is not None:
                        return replay
                    raise CartCheckedOut(order_id=order_id)
            wanted = _cart_lines(cart)
        else:
            wanted = _lines_merge(request.lines)
        return _order_build(lines=wanted, request=request), cart
    except ApplicationError as exc:
        if isinstance(exc, CartCheckedOut):
            raise
        # A retry of a request that did succeed answers as it did, whatever changed since.
        replay = _record_replay(scoped_key=request.scoped_key, request_hash=request.request_hash)
        if replay is not None:
            return replay
        raise


def _payment_open(order: Order) -> None:
    """For an order awaiting payment: open its one PaymentIntent BEFORE the order is stored, and
    keep the intent on the order. Stripe down: 503 and nothing stored. An intent whose order is
    never stored waits in `requires_payment_method`: nobody holds its client secret, so nothing
    can charge it (and checkout cancels it when it knows the order lost)."""
    if order.status != Order.AWAITING_PAYMENT:
        return
    intent = intent_open(
        order_id=order.order_id, amount_cents=int(order.total_cents), currency=order.currency
    )
    order.payment = Payment(
        provider=PROVIDER,
        intent_id=intent.id,
        status=intent.status,
        client_secret=intent.client_secret,
        amount_authorized_cents=0,
        amount_captured_cents=0,
        amount_refunded_cents=0,
        refunds=[],
    )


def _payment_abandon(order: Order) -> None:
    """The order of this attempt was certainly not stored: cancel its intent (best effort)."""
    if order.payment is not None:
        intent_cancel_quietly(intent_id=order.payment.intent_id)


def _checkout_items(
    request: CheckoutRequest, *, order: Order, cart: CartState | None, body: dict
) -> list[dict]:
    """The checkout transaction: the order (new id), the cart's guard or the throttle count, and
    the key record (new for this client) holding the answer."""
    now = int(time.time())
    items = [
        {
            "Put": {
                "TableName": settings.ORDERS_TABLE,
                "Item": order.serialize(),
                "ConditionExpression": "attribute_not_exists(order_id)",
            }
        }
    ]
    if request.from_cart:
        items.append(
            cart_checkout_update(
                cart_id=request.cart_id,
                version=cart.version,
                product_ids=[line.product_id for line in order.items],
                order_id=order.order_id,
                throttle=request.throttle,
                now=now,
            )
        )
    elif request.throttle is not None:
        items.append(cart_throttle_update(cart_id=request.cart_id, throttle=request.throttle, now=now))
    if request.scoped_key:
        record = IdempotencyKey(
            key=request.scoped_key,
            request_hash=request.request_hash,
            order_id=order.order_id,
            response_status=202,
            response_body=json.dumps(body, separators=(",", ":")),
            expires_at=_now() + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS),
        )
        items.append(
            {
                "Put": {
                    "TableName": settings.IDEMPOTENCY_TABLE,
                    "Item": record.serialize(),
                    # An expired record is free to reuse: DynamoDB's TTL deletes late.
                    "ConditionExpression": "attribute_not_exists(#key) OR #expires <= :now",
                    "ExpressionAttributeNames": {"#key": "key", "#expires": "expires_at"},
                    "ExpressionAttributeValues": {":now": {"N": str(now)}},
                }
            }
        )
    return items


def _checkout_store(
    request: CheckoutRequest, *, order: Order, cart: CartState | None, attempt: int, deadline: float
) -> Placement | None:
    """Store the order in its one transaction. The answer: ours (stored and published), or the
    one another request stored first (a replay); None when the cart changed meanwhile (build the
    order again); CartCheckedOut or the throttle's error when that is why it was refused."""
    body = order_data(order, owner=True)
    items = _checkout_items(request, order=order, cart=cart, body=body)
    stored = Placement(order_id=order.order_id, status_code=202, body=body)
    replay = functools.partial(
        _record_replay, scoped_key=request.scoped_key, request_hash=request.request_hash
    )

    reasons = _transact(items, order_id=order.order_id, deadline=deadline)
    while reasons == UNCERTAIN:
        # Not stored as far as DynamoDB can tell now. Another request may have won meanwhile
        # (this client's key, or this cart): if so, answer with its order; else try the SAME
        # transaction again, so a late landing of this attempt is never a second order.
        answer = replay()
        if answer is not None:
            return answer
        if request.from_cart:
            old = cart_item_read(cart_id=request.cart_id)
            if old is not None and old.last_order_id == order.order_id:
                return _placed(stored)
            order_id = _checked_out_by(old, version=cart.version)
            if order_id:
                raise CartCheckedOut(order_id=order_id)
        _backoff(attempt=attempt, deadline=deadline)
        reasons = _transact(items, order_id=order.order_id, deadline=deadline)
    if reasons is None:
        return _placed(stored)

    # Refused by a condition: find out which, and why.
    codes = [reason.get("Code") for reason in reasons]
    if request.scoped_key and codes[-1] == CONDITION_FAILED:
        answer = replay()
        if answer is not None:
            return answer
    if len(items) > 1 and "Update" in items[1] and codes[1] == CONDITION_FAILED:
        old = cart_state(request.cart_id, reasons[1].get("Item")) or cart_item_read(cart_id=request.cart_id)
        if old is not None and old.last_order_id == order.order_id:
            return _placed(stored)  # ours, from an attempt that timed out
        if request.throttle is not None and old is not None and request.throttle.is_reached(old.raw):
            raise request.throttle.exceeded()
        if request.from_cart:
            order_id = _checked_out_by(old, version=cart.version)
            if order_id:
                answer = replay()
                if answer is not None:
                    return answer
                raise CartCheckedOut(order_id=order_id)
    return None  # the cart changed meanwhile (or a key record expired)


def order_place(
    *,
    lines: list[LineRequest] | None,
    client_total_cents: int | None,
    cart_id: str,
    idempotency_key: str | None = None,
    idempotency_scope: str | None = None,
    request_id: str | None = None,
    email: str | None = None,
    customer_id: str | None = None,
    throttle: WriteLimit | None = None,
    contact: Contact | None = None,
) -> Placement:
    """Check out `lines` (None: the client's cart `cart_id`): store the order and answer 202.

    With payments off the order is stored PENDING and published to the worker; with Stripe it is
    stored AWAITING_PAYMENT with its one PaymentIntent (opened first) and published once paid.
    A signed-in customer's order carries their `customer_id` (it then answers only to them and
    staff, and lists under `GET /orders`) and their account's `email`.

    ONE TransactWriteItems stores the order (condition: new id) with, for a cart checkout, the
    cart's guard (condition: the cart is still at the version read; its ordered lines removed, the
    order marked on it), the key record when an Idempotency-Key came (condition: new for this
    client), and the client's throttle count. So one cart's contents become at most one order:
    the other checkouts get that order back (same key: 202 replayed) or 409 `cart_checked_out`.
    Keys are scoped by `idempotency_scope` (the client identity; default: `cart_id`).
    """
    deadline = time.monotonic() + settings.CHECKOUT_DEADLINE_SECONDS
    contact = contact or Contact()
    scope = idempotency_scope or cart_id
    request = CheckoutRequest(
        lines=lines,
        client_total_cents=client_total_cents,
        cart_id=cart_id,
        scoped_key=idempotency_scoped_key(scope=scope, key=idempotency_key) if idempotency_key else None,
        request_hash=checkout_request_hash(
            lines=lines, client_total_cents=client_total_cents, email=email, contact=contact
        ),
        request_id=request_id,
        email=email,
        customer_id=customer_id,
        throttle=throttle,
        contact=contact,
    )
    if settings.PAYMENTS_PROVIDER == "stripe":
        # A retry of a checkout that succeeded answers before anything is opened at Stripe.
        answer = _record_replay(scoped_key=request.scoped_key, request_hash=request.request_hash)
        if answer is not None:
            return answer

    for attempt in itertools.count():
        drafted = _checkout_draft(request)
        if isinstance(drafted, Placement):
            return drafted
        order, cart = drafted
        _payment_open(order)
        try:
            answer = _checkout_store(request, order=order, cart=cart, attempt=attempt, deadline=deadline)
        except ServiceUnavailable:
            raise  # the transaction may yet land with this intent: keep it
        except ApplicationError:
            _payment_abandon(order)
            raise
        if answer is None or answer.order_id != order.order_id:
            _payment_abandon(order)
        if answer is not None:
            return answer
        _backoff(attempt=attempt, deadline=deadline)
    raise AssertionError("unreachable")  # pragma: no cover


def order_publish(*, order_id: str) -> bool:
    """Publish `process_order(order_id)`. False (logged) when SQS cannot be reached: the order is
    stored, so the reconciler publishes it later; checkout still answers 202."""
    from orders.tasks import process_order

    try:
        process_order.apply_async(args=[order_id], retry=True)
    except Exception:
        logger.warning(
            "Publishing order %s failed; the reconciler will republish it", order_id, exc_info=True
        )
        return False
    return True


def _order_log_final(order: Order) -> None:
    """One structured line per order that reaches a final state."""
    logger.info(
        "order_final",
        extra={
            "event": "order_final",
            "order_id": order.order_id,
            "status": order.status,
            "reason": order.reason,
            "total": format_cents(order.total_cents),
            "currency": order.currency,
            "lines": [
                {
                    "id": line.product_id,
                    "qty": int(line.qty),
                    "unit_price": format_cents(line.unit_price_cents),
                }
                for line in order.items
            ],
            "order_request_id": order.request_id,
        },
    )


def _order_reject(*, order: Order, short: list[str]) -> Order | None:
    """REJECTED (out_of_stock) if still PENDING; None if another delivery finished it first."""
    try:
        moved = order_transition(
            order,
            source=Order.PENDING,
            target=Order.REJECTED,
            actor=Actor.WORKER,
            reason="out_of_stock",
            actions=[Order.reason.set("out_of_stock"), Order.reason_products.set(short)],
        )
    except Exception as exc:
        if is_transient_aws_error(exc):
            raise OrderRetryLater(str(exc)) from exc
        raise
    return order if moved else None


def order_process(*, order_id: str) -> str | None:
    """Confirm the order (all stock decrements and the status in one transaction) or reject it.

    Returns the final status this call set, or None when there was nothing to do: unknown order
    (logged and dropped), or already final (a duplicate delivery). Raises OrderRetryLater for
    transient failures.
    """
    try:
        order = Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist:
        logger.warning("process_order: unknown order %s, message dropped", order_id)
        return None
    except Exception as exc:
        if is_transient_aws_error(exc):
            raise OrderRetryLater(str(exc)) from exc
        raise
    token = request_id_var.set(order.request_id)
    try:
        if order.status != Order.PENDING:
            logger.info("process_order: order %s already %s, nothing to do", order_id, order.status)
            return None
        if order.payment is not None:
            from orders.capture import order_process_paid  # it builds on this module

            return order_process_paid(order)
        now = _now()
        try:
            with TransactWrite(connection=_connection()) as tx:
                confirm = transition_update(
                    source=Order.PENDING, target=Order.CONFIRMED, actor=Actor.WORKER, at=now
                )
                tx.update(order, **confirm)
                stock_take_updates(tx, order, at=now)
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            if reasons and reasons[0] == CONDITION_FAILED:
                logger.info("process_order: order %s finished by another delivery", order_id)
                return None
            short = short_products(order, reasons)
            if short:
                if _order_reject(order=order, short=short) is None:
                    return None
                _order_log_final(order)  # update() refreshed it from DynamoDB's answer
                return Order.REJECTED
            if RETRYABLE_REASONS.intersection(reasons) or is_transient_aws_error(exc):
                raise OrderRetryLater(f"order {order_id}: {reasons or exc}") from exc
            raise
        except Exception as exc:
            if is_transient_aws_error(exc):
                raise OrderRetryLater(str(exc)) from exc
            raise
        order.status = Order.CONFIRMED
        _order_log_final(order)
        return Order.CONFIRMED
    finally:
        request_id_var.reset(token)


def stock_take_updates(tx: TransactWrite, order: Order, *, at: datetime) -> None:
    """Add to `tx` the decrement of each line's product, each conditional on its stock."""
    for line in order.items:
        qty = int(line.qty)
        tx.update(
            Product(id=line.product_id),
            actions=[Product.stock.add(-qty), Product.updated_at.set(at)],
            condition=Product.stock >= qty,
        )


def short_products(order: Order, reasons: list[str]) -> list[str]:
    """The products whose stock condition failed, from a transaction whose first item is the order
    and then one item per line (as stock_take_updates adds them)."""
    return [
        line.product_id
        for line, reason in zip(order.items, reasons[1:], strict=False)
        if reason == CONDITION_FAILED
    ]


def order_republish_due(*, publishes: int, after: datetime) -> datetime:
    """When an order published `publishes` times may be published again: ORDERS_RECONCILE_AFTER_SECONDS
    after the first publish, then twice as long after each further one."""
    wait = settings.ORDERS_RECONCILE_AFTER_SECONDS * 2 ** max(0, publishes - 1)
    return after + timedelta(seconds=wait)


def order_fail(*, order_id: str, reason: str = "processing_failed") -> Order | None:
    """Make a PENDING order FAILED (final until `order_retry`), logged once as final.

    Conditional on the order still being PENDING, exactly like the worker's transaction: of the
    two, exactly one wins. Returns the FAILED order, or None when it was no longer PENDING. This is
    the one place an order becomes FAILED: hooks on that state change belong here.
    """
    order = Order(order_id=order_id)
    if not order_transition(
        order,
        source=Order.PENDING,
        target=Order.FAILED,
        actor=Actor.RECONCILER,
        reason=reason,
        actions=[Order.reason.set(reason)],
    ):
        return None
    logger.warning("Order %s FAILED (%s): its processing failed on every publish", order_id, reason)
    _order_log_final(order)  # update() refreshed it from DynamoDB's answer
    # The "failed" event. Lost only if this process dies right here (or SQS refuses it): the
    # order's next notification (after an operator's retry) sends it then.
    order_notify(order_id=order_id)
    return order


def order_republish(*, order: Order, now: datetime | None = None) -> str:
    """Publish a stale PENDING order once more, counted on the order; FAIL it past its budget.

    `order` is as the status index showed it. The count and the next due time move in ONE
    conditional UpdateItem (still PENDING, still the count we saw, due), so two reconciler runs
    never both publish it, and a stale index entry only costs a skip. Returns "published",
    "failed" (its publishes were spent: now FAILED), "skipped" (no longer PENDING or not due) or
    "unpublished" (counted, but SQS refused it: retried at the next due time).
    """
    now = now or _now()
    limit = settings.ORDERS_MAX_PUBLISHES
    seen = None if order.publishes is None else int(order.publishes)
    if seen is not None and seen >= limit:
        current = Order.get(order.order_id, consistent_read=True)
        due = current.republish_at is None or current.republish_at <= now
        if current.status != Order.PENDING or not due or int(current.publishes or 0) < limit:
            return "skipped"
        return "failed" if order_fail(order_id=order.order_id) else "skipped"
    publishes = (seen or 0) + 1
    try:
        Order(order_id=order.order_id).update(
            actions=[
                Order.publishes.set(publishes),
                Order.republish_at.set(order_republish_due(publishes=publishes, after=now)),
            ],
            condition=(Order.status == Order.PENDING)
            & (Order.publishes.does_not_exist() if seen is None else (Order.publishes == seen))
            & (Order.republish_at.does_not_exist() | (Order.republish_at <= now)),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return "skipped"
        raise
    return "published" if order_publish(order_id=order.order_id) else "unpublished"


def order_retry(*, order_id: str) -> Order | None:
    """An operator's retry: a FAILED order goes back to PENDING with a fresh publish budget, and is
    published. None when the order is not FAILED (nothing changes)."""
    now = _now()
    order = Order(order_id=order_id)
    if not order_transition(
        order,
        source=Order.FAILED,
        target=Order.PENDING,
        actor=Actor.OPERATOR,
        reason="retried",
        actions=[
            Order.reason.remove(),
            Order.publishes.set(1),
            Order.republish_at.set(order_republish_due(publishes=1, after=now)),
        ],
    ):
        return None
    logger.info("Order %s retried by an operator: PENDING again", order_id)
    order_publish(order_id=order_id)
    return order


def order_cancel(*, order_id: str, actor: str) -> Order:
    """The owner or staff (`actor`: "owner" or "staff") cancel an order not yet on its way to
    capture: AWAITING_PAYMENT, or PENDING with no stock taken (conditional: a worker that takes
    the stock at the same moment wins or loses as a whole). Its PaymentIntent is cancelled (the
    authorisation released). Already CANCELLED: answered as it is (the intent's cancel retried if
    it had failed). Anything else: OrderNotCancellable (409)."""
    from payments.services import order_intent_release

    who = Actor(actor)
    order = order_get(order_id=order_id)
    if order.status == Order.CANCELLED:
        order_intent_release(order)
        return order
    if order.status not in sources_of(target=Order.CANCELLED, actor=who) or order.stock_taken_at is not None:
        raise OrderNotCancellable()
    if not order_transition(
        order,
        source=order.status,
        target=Order.CANCELLED,
        actor=who,
        reason=f"cancelled_by_{who.value}",
        actions=[Order.reason.set(f"cancelled_by_{who.value}")],
        condition=Order.stock_taken_at.does_not_exist(),
    ):
        order.refresh(consistent_read=True)
        if order.status != Order.CANCELLED:
            raise OrderNotCancellable()
    logger.info("Order %s CANCELLED by %s", order_id, who.value)
    order_notify(order_id=order_id)
    order_intent_release(order)
    return order


def orders_reconcile(*, older_than_seconds: int | None = None, limit: int | None = None) -> list[str]:
    """Republish the orders still PENDING whose republish is due (a lost publish, a message gone to
    the DLQ); FAIL those that spent their publishes. Returns the ids published.

    Found through the status index, never a Scan, oldest first; orders published recently are
    filtered out by DynamoDB before they take a place in the batch, so a few stuck orders never
    starve newer ones (each one, once republished, waits its turn again).
    """
    age = settings.ORDERS_RECONCILE_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    now = _now()
    orders = orders_due_for_republish(
        created_before=now - timedelta(seconds=age), now=now, limit=limit or settings.ORDERS_RECONCILE_BATCH
    )
    outcomes: dict[str, list[str]] = {}
    for order in orders:
        outcomes.setdefault(order_republish(order=order, now=now), []).append(order.order_id)
    if orders:
        logger.info(
            "orders_reconcile: %s",
            ", ".join(f"{len(ids)} {outcome}" for outcome, ids in sorted(outcomes.items())),
            extra={"event": "orders_reconcile", **{outcome: len(ids) for outcome, ids in outcomes.items()}},
        )
    return outcomes.get("published", [])


def orders_oldest_pending_age(*, now: datetime | None = None, status: str = Order.PENDING) -> float:
    """Seconds the oldest order in `status` (PENDING; AWAITING_PAYMENT for the payments
    reconciler) has waited (0 when none): the alarms' metrics."""
    created_at = orders_pending_oldest(status=status)
    if created_at is None:
        return 0.0
    return max(0.0, ((now or _now()) - created_at).total_seconds())

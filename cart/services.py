"""Cart writes: add to a line, set a line, remove a line, empty the cart; each atomic in DynamoDB.

How the rules hold under concurrency, with single-item conditional writes only (no
transactions: the hot path never conflicts, and moto's transactions are not isolated):
- A line's quantity changes with one conditional UpdateItem (`ADD qty :n` IF the line is live AND
  `qty <= min(99, stock) - n`): concurrent adds never lose an update and never pass 99.
- The cart's head item holds the set of its product ids. A new line first reserves its id with
  `ADD products :id` IF `contains(products, :id) OR size(products) < 50`, then is written: the
  50-line limit is one condition on one item, so concurrent new lines cannot pass it.
- A removal deletes the line, then its id from the set. An expired line is deleted the same way
  by the next write that sees it (before DynamoDB's TTL would delete it behind the set's back).
  A cart whose head has expired is cleared before it is written to again.
"""

import logging
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import size

from cart.models import CART_HEAD_ID, CART_TTL, CartLine
from cart.selectors import PricedCart, cart_items_all, cart_price, line_is_live
from catalog.selectors import product_get
from cloudcart.errors import CartFull, OutOfStock, QtyLimit, ServiceUnavailable

logger = logging.getLogger(__name__)

MAX_LINE_QTY = 99
MAX_CART_LINES = 50
# A line's expiry is rewritten only when it is this stale: a cart expires 7 days (minus at most
# this) after its last write, and a busy cart does not rewrite every line on every click.
EXPIRY_REFRESH_AFTER = timedelta(hours=1)
# The head outlives its lines, so a live line always has a live head.
HEAD_TTL_MARGIN = timedelta(days=1)
# Attempts at one write when another request changes the same line meanwhile; each re-reads it.
WRITE_ATTEMPTS = 10

CONDITION_FAILED = "ConditionalCheckFailedException"


def _now() -> datetime:
    return datetime.now(UTC)


def _condition_failed(exc) -> bool:
    return getattr(exc, "cause_response_code", None) == CONDITION_FAILED


def _item_get(*, cart_id: str, product_id: str) -> CartLine | None:
    try:
        return CartLine.get(cart_id, product_id, consistent_read=True)
    except CartLine.DoesNotExist:
        return None


def _item_delete_if_unchanged(item: CartLine) -> bool:
    try:
        item.delete(condition=CartLine.expires_at == item.expires_at)
    except DeleteError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True


def _qty_validate(qty, *, allow_zero: bool = False) -> int:
    # The views validate too; this keeps the service safe for any caller (checkout, a shell).
    low = 0 if allow_zero else 1
    if isinstance(qty, bool) or not isinstance(qty, int) or not low <= qty <= MAX_LINE_QTY:
        raise QtyLimit(f"qty must be an integer from {low} to {MAX_LINE_QTY}.")
    return qty


def _line_check(*, qty: int, stock: int) -> None:
    if qty > MAX_LINE_QTY:
        raise QtyLimit(extra={"max_qty": MAX_LINE_QTY})
    if qty > stock:
        # Soft check: checkout is the authority on stock.
        raise OutOfStock(extra={"available": stock})


def _cart_reset_if_dead(*, cart_id: str) -> None:
    """Start a missing or dead cart from a clean slate before writing to it.

    The head outlives the cart's last write by a day more than any line, so a head past its own
    expiry means every line has expired; delete the leftovers, each only if unchanged since read.
    """
    now = _now()
    head = _item_get(cart_id=cart_id, product_id=CART_HEAD_ID)
    if head is not None and line_is_live(head, now=now):
        return
    for item in cart_items_all(cart_id=cart_id):
        if not line_is_live(item, now=now):
            _item_delete_if_unchanged(item)


def _slot_reserve(*, cart_id: str, product_id: str, expires_at: datetime) -> bool:
    """Put `product_id` in the head's set unless that makes more than 50. False if full."""
    head = CartLine(cart_id, CART_HEAD_ID)
    try:
        head.update(
            actions=[
                CartLine.products.add({product_id}),
                CartLine.expires_at.set(expires_at + HEAD_TTL_MARGIN),
            ],
            condition=(
                CartLine.products.does_not_exist()
                | CartLine.products.contains(product_id)
                | (size(CartLine.products) < MAX_CART_LINES)
            ),
        )
    except UpdateError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True


def _line_expire(*, line: CartLine) -> bool:
    """Delete an expired line (only if still as read), then release its id from the head's set."""
    if not _item_delete_if_unchanged(line):
        return False
    _slot_release(cart_id=line.cart_id, product_id=line.product_id)
    return True


def _slot_release(*, cart_id: str, product_id: str) -> None:
    try:
        CartLine(cart_id, CART_HEAD_ID).update(
            actions=[CartLine.products.delete({product_id})], condition=CartLine.product_id.exists()
        )
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise


def _expired_lines_drop(*, cart_id: str) -> int:
    """Delete the cart's expired lines and release their ids; return how many went.

    Ids with no line item at all are kept: they may be reserved by a request that is writing
    its line right now, and releasing them would let the cart pass 50.
    """
    now = _now()
    return sum(
        _line_expire(line=item)
        for item in cart_items_all(cart_id=cart_id)
        if not item.is_head and not line_is_live(item, now=now)
    )


def _line_store(*, cart_id: str, product_id: str, qty: int, expires_at: datetime) -> bool:
    """Write a new line where there is none. False if another request wrote it first."""
    try:
        CartLine(cart_id, product_id, qty=qty, expires_at=expires_at).save(
            condition=CartLine.product_id.does_not_exist()
        )
    except PutError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True


def _line_write(*, cart_id: str, product_id: str, qty: int, add: bool) -> None:
    """Add `qty` to a line (add=True) or set it to `qty`, creating the line as needed."""
    product = product_get(product_id=product_id, consistent=True)
    stock = int(product.stock)
    cap = min(MAX_LINE_QTY, stock)
    _cart_reset_if_dead(cart_id=cart_id)
    released = False
    for _ in range(WRITE_ATTEMPTS):
        now = _now()
        expires_at = now + CART_TTL
        line = _item_get(cart_id=cart_id, product_id=product_id)
        if line is not None and line_is_live(line, now=now):
            _line_check(qty=int(line.qty) + qty if add else qty, stock=stock)
            live = CartLine.expires_at > now
            if add:
                # Atomic: the quantity is never read-modified-written, so no concurrent add is lost.
                actions = [CartLine.qty.add(qty), CartLine.expires_at.set(expires_at)]
                condition = CartLine.qty.exists() & live & (CartLine.qty <= cap - qty)
            else:
                actions = [CartLine.qty.set(qty), CartLine.expires_at.set(expires_at)]
                condition = CartLine.qty.exists() & live
            try:
                CartLine(cart_id, product_id).update(actions=actions, condition=condition)
                return
            except UpdateError as exc:
                if not _condition_failed(exc):
                    raise
                continue  # changed meanwhile: re-read and judge again
        if line is not None:
            # Expired: it counts for nothing; drop it, then create the line afresh from zero.
            _line_expire(line=line)
            continue
        _line_check(qty=qty, stock=stock)
        if not _slot_reserve(cart_id=cart_id, product_id=product_id, expires_at=expires_at):
            # Full, unless some of its lines have expired: drop those once and retry.
            if released or not _expired_lines_drop(cart_id=cart_id):
                raise CartFull(extra={"max_lines": MAX_CART_LINES})
            released = True
            continue
        if _line_store(cart_id=cart_id, product_id=product_id, qty=qty, expires_at=expires_at):
            return
        # Another request wrote the line first: go round and add to (or set) it.
    raise ServiceUnavailable("The cart is busy; please retry.")


def _line_delete(*, cart_id: str, product_id: str) -> None:
    """Delete the line, then release its id from the head's set; a missing line is a no-op."""
    CartLine(cart_id, product_id).delete()
    _slot_release(cart_id=cart_id, product_id=product_id)


def _cart_after_write(*, cart_id: str) -> PricedCart:
    """Slide the cart's expiry (items more than an hour stale) and price the whole cart."""
    now = _now()
    expires_at = now + CART_TTL
    live = []
    for item in cart_items_all(cart_id=cart_id):
        if not line_is_live(item, now=now):
            # Never resurrect an expired line by refreshing it; drop it and free its slot now,
            # rather than when DynamoDB's TTL deletes it behind the head's back.
            if not item.is_head:
                _line_expire(line=item)
            continue
        target = expires_at + HEAD_TTL_MARGIN if item.is_head else expires_at
        if not item.is_head:
            live.append(item)
        if item.expires_at < target - EXPIRY_REFRESH_AFTER:
            try:
                item.update(
                    actions=[CartLine.expires_at.set(target)],
                    condition=CartLine.expires_at == item.expires_at,
                )
            except UpdateError as exc:
                if not _condition_failed(exc):
                    raise
    return cart_price(cart_id=cart_id, lines=live)


def cart_item_add(*, cart_id: str, product_id: str, qty: int) -> PricedCart:
    """Add `qty` (1-99) units of a product to the cart; the line holds at most 99 and the stock."""
    _line_write(cart_id=cart_id, product_id=product_id, qty=_qty_validate(qty), add=True)
    return _cart_after_write(cart_id=cart_id)


def cart_item_set(*, cart_id: str, product_id: str, qty: int) -> PricedCart:
    """Set a line to `qty` (1-99); 0 removes it."""
    if _qty_validate(qty, allow_zero=True) == 0:
        return cart_item_remove(cart_id=cart_id, product_id=product_id)
    _line_write(cart_id=cart_id, product_id=product_id, qty=qty, add=False)
    return _cart_after_write(cart_id=cart_id)


def cart_item_remove(*, cart_id: str, product_id: str) -> PricedCart:
    """Remove a line (no error if the cart has none for this product)."""
    _line_delete(cart_id=cart_id, product_id=product_id)
    return _cart_after_write(cart_id=cart_id)


def cart_clear(*, cart_id: str) -> None:
    """Delete every item of the cart: its lines and its head."""
    items = cart_items_all(cart_id=cart_id)
    if not items:
        return
    with CartLine.batch_write() as batch:
        for item in items:
            batch.delete(item)

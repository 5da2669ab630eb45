"""Cart writes: add to a line, set a line, remove a line, empty the cart; each atomic in DynamoDB.

How the rules hold under concurrency (see the README's "Cart" section):
- A line's quantity changes with one conditional UpdateItem (`ADD qty :n` IF the line is live AND
  `qty <= min(99, stock) - n`): concurrent adds never lose an update and never pass 99.
- The cart's head item counts its line items. A new line is created in one transaction with
  `lines + 1` IF `lines < 50`, and removed in one with `lines - 1`: the 50-line limit is a
  condition on one item, so concurrent new lines cannot pass it. Adding to an existing line does
  not touch the head, so the hot path is a single UpdateItem that never conflicts.
- The count can only drift when DynamoDB's TTL deletes expired lines behind our back (it then
  counts too many); a write that hits the limit first deletes expired lines and recounts.
"""

import random
import time
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from cart.models import CART_HEAD_ID, CART_TTL, CartLine
from cart.selectors import PricedCart, cart_items_all, cart_price, line_is_live
from catalog.selectors import product_get
from cloudcart.errors import CartFull, OutOfStock, QtyLimit, ServiceUnavailable

MAX_LINE_QTY = 99
MAX_CART_LINES = 50
# A line's expiry is rewritten only when it is this stale: a cart expires 7 days (minus at most
# this) after its last write, and a busy cart does not rewrite every line on every click.
EXPIRY_REFRESH_AFTER = timedelta(hours=1)
# The head outlives its lines, so its count is never lost while a line is still live.
HEAD_TTL_MARGIN = timedelta(days=1)
# Attempts at one write under contention (another request creating the same line, a
# transaction conflict); each attempt re-reads the line.
WRITE_ATTEMPTS = 10

CONDITION_FAILED = "ConditionalCheckFailedException"


def _now() -> datetime:
    return datetime.now(UTC)


def _connection():
    # The carts model's own connection (endpoint, credentials, timeouts from cloudcart.aws).
    return CartLine._get_connection().connection


def _condition_failed(exc) -> bool:
    return getattr(exc, "cause_response_code", None) == CONDITION_FAILED


def _transaction_reasons(exc: TransactWriteError) -> list[str | None]:
    return [reason.code if reason else None for reason in exc.cancellation_reasons]


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * 2**attempt))


def _line_read(*, cart_id: str, product_id: str) -> CartLine | None:
    try:
        return CartLine.get(cart_id, product_id, consistent_read=True)
    except CartLine.DoesNotExist:
        return None


def _line_check(*, qty: int, stock: int) -> None:
    if qty > MAX_LINE_QTY:
        raise QtyLimit(extra={"max_qty": MAX_LINE_QTY})
    if qty > stock:
        raise OutOfStock(extra={"available": stock})


def _qty_validate(qty, *, allow_zero: bool = False) -> int:
    # The views validate too; this keeps the service safe for any caller (checkout, a shell).
    low = 0 if allow_zero else 1
    if isinstance(qty, bool) or not isinstance(qty, int) or not low <= qty <= MAX_LINE_QTY:
        raise QtyLimit(f"qty must be an integer from {low} to {MAX_LINE_QTY}.")
    return qty


def _line_create(*, cart_id: str, product_id: str, qty: int, expires_at: datetime) -> str:
    """Create a new line and count it on the head, in one transaction. Returns "ok", "exists"
    (someone created the line meanwhile: retry as an update), "full" or "conflict"."""
    line = CartLine(cart_id, product_id, qty=qty, expires_at=expires_at)
    head = CartLine(cart_id, CART_HEAD_ID)
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(line, condition=CartLine.product_id.does_not_exist())
            tx.update(
                head,
                actions=[CartLine.lines.add(1), CartLine.expires_at.set(expires_at + HEAD_TTL_MARGIN)],
                condition=CartLine.lines.does_not_exist() | (CartLine.lines < MAX_CART_LINES),
            )
    except TransactWriteError as exc:
        line_reason, head_reason = (_transaction_reasons(exc) + [None, None])[:2]
        if line_reason == "ConditionalCheckFailed":
            return "exists"
        if head_reason == "ConditionalCheckFailed":
            return "full"
        if exc.cause_response_code == "TransactionCanceledException" or "TransactionConflict" in (
            line_reason,
            head_reason,
        ):
            return "conflict"
        raise
    return "ok"


def _line_revive(*, line: CartLine, qty: int, expires_at: datetime) -> bool:
    """Reuse an expired line item (already counted on the head) for a fresh quantity."""
    try:
        CartLine(line.cart_id, line.product_id, qty=qty, expires_at=expires_at).save(
            condition=CartLine.expires_at == line.expires_at
        )
    except PutError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True


def _head_recount(*, cart_id: str) -> bool:
    """Delete expired lines and set the head's count to the lines left. True if room was made."""
    now = _now()
    items = cart_items_all(cart_id=cart_id)
    head = next((item for item in items if item.is_head), None)
    present = 0
    for item in items:
        if item.is_head:
            continue
        if line_is_live(item, now=now):
            present += 1
            continue
        try:
            item.delete(condition=CartLine.expires_at == item.expires_at)
        except DeleteError as exc:
            if not _condition_failed(exc):
                raise
            present += 1  # revived meanwhile
    if head is None or present >= MAX_CART_LINES:
        return False
    try:
        # Optimistic: only if nobody changed the count since we read it.
        head.update(actions=[CartLine.lines.set(present)], condition=CartLine.lines == head.lines)
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise
    return True


def _line_write(*, cart_id: str, product_id: str, qty: int, add: bool) -> None:
    """Add `qty` to a line (add=True) or set it to `qty`, creating the line as needed."""
    product = product_get(product_id=product_id, consistent=True)
    stock = int(product.stock)
    cap = min(MAX_LINE_QTY, stock)
    recounted = False
    for attempt in range(WRITE_ATTEMPTS):
        now = _now()
        expires_at = now + CART_TTL
        line = _line_read(cart_id=cart_id, product_id=product_id)
        if line is not None and line_is_live(line, now=now):
            new_qty = int(line.qty) + qty if add else qty
            _line_check(qty=new_qty, stock=stock)
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
        _line_check(qty=qty, stock=stock)
        if line is not None:
            if _line_revive(line=line, qty=qty, expires_at=expires_at):
                return
            continue
        outcome = _line_create(cart_id=cart_id, product_id=product_id, qty=qty, expires_at=expires_at)
        if outcome == "ok":
            return
        if outcome == "full":
            if recounted or not _head_recount(cart_id=cart_id):
                raise CartFull(extra={"max_lines": MAX_CART_LINES})
            recounted = True
            continue
        if outcome == "conflict":
            _backoff(attempt)
    raise ServiceUnavailable("The cart is busy; please retry.")


def _line_delete(*, cart_id: str, product_id: str) -> None:
    """Remove a line and uncount it on the head, in one transaction; a missing line is a no-op."""
    for attempt in range(WRITE_ATTEMPTS):
        if _line_read(cart_id=cart_id, product_id=product_id) is None:
            return
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.delete(CartLine(cart_id, product_id), condition=CartLine.product_id.exists())
                tx.update(
                    CartLine(cart_id, CART_HEAD_ID),
                    actions=[CartLine.lines.add(-1)],
                    condition=CartLine.lines > 0,
                )
            return
        except TransactWriteError as exc:
            line_reason, head_reason = (_transaction_reasons(exc) + [None, None])[:2]
            if line_reason == "ConditionalCheckFailed":
                return  # already gone
            if head_reason == "ConditionalCheckFailed":
                # No count to lower (the cart was emptied meanwhile): just delete the line.
                CartLine(cart_id, product_id).delete()
                return
            _backoff(attempt)
    raise ServiceUnavailable("The cart is busy; please retry.")


def _cart_after_write(*, cart_id: str) -> PricedCart:
    """Slide the cart's expiry (lines more than an hour stale) and price the whole cart."""
    now = _now()
    expires_at = now + CART_TTL
    live = []
    for item in cart_items_all(cart_id=cart_id):
        target = expires_at + HEAD_TTL_MARGIN if item.is_head else expires_at
        if not item.is_head and not line_is_live(item, now=now):
            continue  # expired lines stay expired; never resurrect them by refreshing
        if not item.is_head:
            live.append(item)
        if item.expires_at is None or item.expires_at < target - EXPIRY_REFRESH_AFTER:
            try:
                item.update(
                    actions=[CartLine.expires_at.set(target)],
                    condition=CartLine.product_id.exists() & (CartLine.expires_at == item.expires_at),
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

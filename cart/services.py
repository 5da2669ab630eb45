"""Cart writes: add to a line, set a line, remove a line, empty the cart; each ONE conditional UpdateItem.

The cart is one item (cart/models.py) and every write is one UpdateItem whose condition carries
every rule, so nothing is read-modified-written and concurrent writes never lose an update:
- add: `SET lines.#p = if_not_exists(lines.#p, 0) + n` IF the line stays <= min(99, stock) AND
  (the line exists OR the map has < 50 entries) AND the cart is live;
- set: `SET lines.#p = q` IF (the line exists OR < 50 entries) AND live; remove: `REMOVE lines.#p`;
  clear: `SET lines = {}`;
- each also bumps `version`, slides `expires_at` 7 days, and counts the client's write in its
  throttle window (cloudcart/throttling.py), refused past the limit.
The write returns the new item (ALL_NEW), so the answer needs no read of the cart. When the
condition fails, DynamoDB hands back the item as it was (ALL_OLD) and the service says why:
a missing or expired cart is (re)created by a second conditional UpdateItem, otherwise the
error names the rule broken, or the write is tried again when the cart merely changed meanwhile.

The product (its stock for the soft check, 404) and the prices of the answer come from the
catalog's bounded-stale cache (`products_get_cached`, CATALOG_CACHE_SECONDS, as the catalog pages):
checkout is the authority on stock and price, with consistent reads. So an add to an existing
cart of products this process has priced within the bound is ONE DynamoDB call, the UpdateItem
(+1 batch read for the products it has not, +1 UpdateItem to start a missing cart).
"""

import logging
import random
import time

from botocore.exceptions import ClientError

from cart.errors import CartFull, OutOfStock, QtyLimit
from cart.selectors import PricedCart, cart_price
from cart.store import (
    CartBusy,
    CartConditionFailed,
    CartState,
    CartUpdate,
    cart_attributes_remove,
    cart_item_update,
    cart_state,
)
from catalog.errors import ProductNotFound
from catalog.selectors import products_get_cached
from cloudcart.errors import ServiceUnavailable
from cloudcart.throttling import WriteLimit, throttle_stale_attributes

logger = logging.getLogger(__name__)

MAX_LINE_QTY = 99
MAX_CART_LINES = 50
# Attempts at one write when other requests change the same cart meanwhile.
WRITE_ATTEMPTS = 10
# How long a write waits for a transaction (a checkout) that holds the cart item, then 503.
CART_BUSY_SECONDS = 3.0
# Ended throttle windows left on a cart item are removed once there are this many (rare: a client
# writes in many windows that are not consecutive); until then they cost a few bytes each.
STALE_COUNTERS_MAX = 8


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


def _line_condition(update: CartUpdate, *, line: str, max_before: int | None) -> None:
    """The line may hold at most `max_before` before this write (None: any), and a new line needs room."""
    room = update.value(":max_lines", {"N": str(MAX_CART_LINES)})
    update.conditions.append(f"(attribute_exists({line}) OR size(#lines) < {room})")
    if max_before is not None:
        bound = update.value(":max_before", {"N": str(max_before)})
        update.conditions.append(f"(attribute_not_exists({line}) OR {line} <= {bound})")


def _why_refused(
    state: CartState | None,
    *,
    throttle: WriteLimit | None,
    product_id: str | None,
    qty: int,
    add: bool,
    stock: int,
) -> None:
    """Raise the rule a live cart's write broke; return if none did (the cart changed meanwhile)."""
    if throttle is not None and throttle.is_reached(state.raw):
        raise throttle.exceeded()
    if product_id is None:
        return
    current = state.lines.get(product_id)
    if current is None and len(state.lines) >= MAX_CART_LINES:
        raise CartFull(extra={"max_lines": MAX_CART_LINES})
    if add and current is not None:
        _line_check(qty=current + qty, stock=stock)


def _stale_counters_drop(state: CartState) -> None:
    stale = throttle_stale_attributes(state.raw)
    if len(stale) < STALE_COUNTERS_MAX:
        return
    try:
        cart_attributes_remove(cart_id=state.cart_id, names=stale)
    except ClientError:
        logger.warning("Could not remove ended throttle counters from a cart", exc_info=True)


def _cart_write(
    *,
    cart_id: str,
    throttle: WriteLimit | None,
    product_id: str | None,
    qty: int = 0,
    add: bool = False,
    stock: int = 0,
    clear: bool = False,
) -> CartState | None:
    """One write: add/set (qty > 0), remove (qty == 0) or clear. None when there is no live cart to
    remove from or clear (nothing is written then)."""
    attempts = busy_waits = 0
    busy_until = time.monotonic() + CART_BUSY_SECONDS
    while attempts < WRITE_ATTEMPTS:
        attempts += 1
        now = int(time.time())
        update = CartUpdate(now=now)
        update.touch()
        update.require_live()
        update.count_write(throttle)
        if clear:
            update.sets.append(f"#lines = {update.value(':empty', {'M': {}})}")
        else:
            line = f"#lines.{update.name('#p', product_id)}"
            if qty == 0:
                update.removes.append(line)
            elif add:
                update.sets.append(
                    f"{line} = if_not_exists({line}, :zero) + {update.value(':n', {'N': str(qty)})}"
                )
                update.values.setdefault(":zero", {"N": "0"})
                _line_condition(update, line=line, max_before=min(MAX_LINE_QTY, stock) - qty)
            else:
                update.sets.append(f"{line} = {update.value(':n', {'N': str(qty)})}")
                _line_condition(update, line=line, max_before=None)
        try:
            state = cart_item_update(cart_id=cart_id, update=update)
        except CartBusy:
            # A checkout of this cart is committing: wait (backing off), then write to the cart as
            # it is then. Waits do not spend the attempts, the time bound limits them.
            attempts -= 1
            left = busy_until - time.monotonic()
            if left <= 0:
                raise ServiceUnavailable("The cart is busy; please retry.") from None
            busy_waits += 1
            time.sleep(min(left, random.uniform(0, min(0.25, 0.01 * 2**busy_waits))))
            continue
        except CartConditionFailed as failed:
            old = cart_state(cart_id, failed.item)
            if old is None or "version" not in old.raw or not old.is_live(now):
                if clear or qty == 0:
                    return None  # nothing to remove from
                created = _cart_create(cart_id=cart_id, throttle=throttle, product_id=product_id, qty=qty)
                if created is not None:
                    return created
                continue  # created by another request meanwhile: write to it
            _why_refused(old, throttle=throttle, product_id=product_id, qty=qty, add=add, stock=stock)
            continue  # changed meanwhile: try again against the cart as it is now
        _stale_counters_drop(state)
        return state
    raise ServiceUnavailable("The cart is busy; please retry.")


def _cart_create(*, cart_id: str, throttle: WriteLimit | None, product_id: str, qty: int) -> CartState | None:
    """Start a missing or expired cart with one line; None if another request made it live first.

    The version continues from the expired cart's (never reset), so a checkout that read the old
    cart can never mistake the new one for it.
    """
    update = CartUpdate(now=int(time.time()))
    update.touch(create=True)
    update.require_missing_or_dead()
    update.count_write(throttle)
    update.sets.append(f"#lines = {update.value(':lines', {'M': {product_id: {'N': str(qty)}}})}")
    try:
        return cart_item_update(cart_id=cart_id, update=update)
    except CartBusy:
        return None  # the caller tries again
    except CartConditionFailed as failed:
        old = cart_state(cart_id, failed.item)
        if throttle is not None and old is not None and throttle.is_reached(old.raw):
            raise throttle.exceeded() from None
        return None


def _line_write(
    *, cart_id: str, product_id: str, qty: int, add: bool, throttle: WriteLimit | None
) -> PricedCart:
    product = products_get_cached(product_ids=[product_id]).get(product_id)
    if product is None:
        raise ProductNotFound()
    stock = int(product.stock)
    _line_check(qty=qty, stock=stock)
    state = _cart_write(
        cart_id=cart_id, throttle=throttle, product_id=product_id, qty=qty, add=add, stock=stock
    )
    return cart_price(cart_id=cart_id, lines=state.lines, known={product.id: product})


def cart_item_add(
    *, cart_id: str, product_id: str, qty: int, throttle: WriteLimit | None = None
) -> PricedCart:
    """Add `qty` (1-99) units of a product to the cart; the line holds at most 99 and the stock."""
    return _line_write(
        cart_id=cart_id, product_id=product_id, qty=_qty_validate(qty), add=True, throttle=throttle
    )


def cart_item_set(
    *, cart_id: str, product_id: str, qty: int, throttle: WriteLimit | None = None
) -> PricedCart:
    """Set a line to `qty` (1-99); 0 removes it."""
    if _qty_validate(qty, allow_zero=True) == 0:
        return cart_item_remove(cart_id=cart_id, product_id=product_id, throttle=throttle)
    return _line_write(cart_id=cart_id, product_id=product_id, qty=qty, add=False, throttle=throttle)


def cart_item_remove(*, cart_id: str, product_id: str, throttle: WriteLimit | None = None) -> PricedCart:
    """Remove a line (no error if the cart has none for this product)."""
    state = _cart_write(cart_id=cart_id, throttle=throttle, product_id=product_id, qty=0)
    return cart_price(cart_id=cart_id, lines=state.lines if state else {})


def cart_clear(*, cart_id: str, throttle: WriteLimit | None = None) -> PricedCart:
    """Empty the cart (its id, version and checkout marker stay)."""
    _cart_write(cart_id=cart_id, throttle=throttle, product_id=None, clear=True)
    return cart_price(cart_id=cart_id, lines={})

"""Cart reads: a cart's live lines, and the cart priced from the catalog.

Pricing reads the catalog through its bounded-stale cache (catalog.selectors.products_get_cached:
a price may lag a catalog change by CATALOG_CACHE_SECONDS, as the catalog pages do; the misses in
one eventually consistent batch read). The cart's prices are information only: checkout re-prices
every line with consistent reads and checks the client's total.
"""

import time
from dataclasses import dataclass

from django.conf import settings

from cart.store import CartState, cart_item_read
from catalog.selectors import products_get_cached


@dataclass(frozen=True)
class PricedLine:
    product_id: str
    qty: int
    available: bool  # False when the product has left the catalog
    name: str | None
    unit_price_cents: int | None
    line_total_cents: int | None


@dataclass(frozen=True)
class PricedCart:
    id: str | None
    items: list[PricedLine]
    subtotal_cents: int  # available lines only
    currency: str

    @property
    def lines(self) -> dict[str, int]:
        return {line.product_id: line.qty for line in self.items}


def cart_live_get(*, cart_id: str | None) -> CartState | None:
    """The cart if it exists and has not expired (consistent read); None otherwise.

    Expired carts are ignored here, before DynamoDB's TTL deletes them (it may take days, and the
    emulators never do).
    """
    if not cart_id:
        return None
    state = cart_item_read(cart_id=cart_id)
    if state is None or not state.is_live(time.time()):
        return None
    return state


def cart_lines_get(*, cart_id: str | None) -> dict[str, int]:
    """The live cart's lines, product id -> qty ({} for a missing, empty or expired cart)."""
    state = cart_live_get(cart_id=cart_id)
    return dict(state.lines) if state else {}


def cart_price(*, cart_id: str | None, lines: dict[str, int], known: dict | None = None) -> PricedCart:
    """Price `lines` (in product id order) from the catalog's cache: at most one batch read, of the
    products neither `known` nor cached."""
    known = known or {}
    wanted = sorted(lines)
    products = dict(known)
    missing = [product_id for product_id in wanted if product_id not in known]
    if missing:
        products.update(products_get_cached(product_ids=missing))
    items = []
    subtotal = 0
    for product_id in wanted:
        qty = int(lines[product_id])
        product = products.get(product_id)
        if product is None:
            items.append(PricedLine(product_id, qty, False, None, None, None))
            continue
        unit = int(product.price_cents)
        items.append(PricedLine(product_id, qty, True, product.name, unit, unit * qty))
        subtotal += unit * qty
    return PricedCart(id=cart_id, items=items, subtotal_cents=subtotal, currency=settings.SHOP_CURRENCY)


def cart_get(*, cart_id: str | None) -> PricedCart:
    """The whole cart priced from the catalog; an unknown, empty or expired id is an empty cart."""
    return cart_price(cart_id=cart_id, lines=cart_lines_get(cart_id=cart_id))

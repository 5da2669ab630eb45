"""Cart reads: the live lines of a cart, and the cart priced from the current catalog."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from cart.models import CartLine
from catalog.selectors import products_get_many


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


def cart_items_all(*, cart_id: str) -> list[CartLine]:
    """Every item stored under `cart_id`, the head and expired lines included (consistent read)."""
    if not cart_id:
        return []
    return list(CartLine.query(cart_id, consistent_read=True))


def line_is_live(line: CartLine, *, now: datetime | None = None) -> bool:
    return line.expires_at is not None and line.expires_at > (now or datetime.now(UTC))


def cart_lines_get(*, cart_id: str) -> list[CartLine]:
    """The cart's live lines (in product id order): expired ones are ignored before DynamoDB's TTL
    deletes them (it may take days, and moto never does)."""
    now = datetime.now(UTC)
    return [
        item for item in cart_items_all(cart_id=cart_id) if not item.is_head and line_is_live(item, now=now)
    ]


def cart_price(*, cart_id: str | None, lines: list[CartLine]) -> PricedCart:
    """Price `lines` from the current catalog in one batch read."""
    products = products_get_many(product_ids=[line.product_id for line in lines])
    items = []
    subtotal = 0
    for line in lines:
        qty = int(line.qty)
        product = products.get(line.product_id)
        if product is None:
            items.append(PricedLine(line.product_id, qty, False, None, None, None))
            continue
        unit = int(product.price_cents)
        items.append(PricedLine(line.product_id, qty, True, product.name, unit, unit * qty))
        subtotal += unit * qty
    return PricedCart(id=cart_id, items=items, subtotal_cents=subtotal, currency=settings.SHOP_CURRENCY)


def cart_get(*, cart_id: str | None) -> PricedCart:
    """The whole cart priced from the current catalog; an unknown or empty id is an empty cart."""
    lines = cart_lines_get(cart_id=cart_id) if cart_id else []
    return cart_price(cart_id=cart_id, lines=lines)

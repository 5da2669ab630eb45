"""How a cart looks in the API: decimal strings from cents, the whole cart in every answer."""

from cart.selectors import PricedCart
from cloudcart.money import format_cents


def _money(cents: int | None) -> str | None:
    return None if cents is None else format_cents(cents)


def cart_data(cart: PricedCart) -> dict:
    return {
        "id": cart.id,
        "items": [
            {
                "id": line.product_id,
                "name": line.name,
                "qty": line.qty,
                "unit_price": _money(line.unit_price_cents),
                "line_total": _money(line.line_total_cents),
                "available": line.available,
            }
            for line in cart.items
        ],
        "subtotal": format_cents(cart.subtotal_cents),
        "currency": cart.currency,
    }

"""How a cart looks in the API: decimal strings from cents, the whole cart in every answer."""

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

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


# --- The same shapes for the OpenAPI schema (documentation only; cart_data builds the bodies) ---


class CartLineSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The product id.")
    name = serializers.CharField(allow_null=True)
    qty = serializers.IntegerField(min_value=1, max_value=99)
    unit_price = serializers.CharField(allow_null=True, help_text="Current catalog price, decimal string.")
    line_total = serializers.CharField(allow_null=True)
    available = serializers.BooleanField(help_text="False when the product is gone or short of stock.")


class CartSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="The cart id (null before the first write).")
    items = CartLineSerializer(many=True)
    subtotal = serializers.CharField(help_text="Decimal string.")
    currency = serializers.CharField()


CART_EXAMPLE = {
    "id": "kS3v0lqJ1n3T8o0pG2Vd3bqgJxq0l9aP",
    "items": [
        {
            "id": "1",
            "name": "Trail running shoes",
            "qty": 2,
            "unit_price": "199.99",
            "line_total": "399.98",
            "available": True,
        }
    ],
    "subtotal": "399.98",
    "currency": "USD",
}
CART_ID_PARAMETER = OpenApiParameter(
    name="X-Cart-Id",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Your cart id, as returned by the first cart write (also set as the `cart_id` "
    "cookie). Header clients are not subject to CSRF checks.",
)
SET_COOKIE_HEADER = OpenApiParameter(
    name="Set-Cookie",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[200],
    description="`cart_id=<id>`: HttpOnly, SameSite=Lax, 7 days, renewed by every write.",
)
# DELETE /cart: with `{"id"}` removes that line; with no body (or no id) empties the cart.
CartItemRemoveRequest = inline_serializer(
    name="CartItemRemove",
    fields={"id": serializers.CharField(max_length=64, required=False, help_text="The product id.")},
)

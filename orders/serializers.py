"""How an order looks in the API: money as decimal strings, timestamps in ISO 8601 UTC."""

from datetime import datetime

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from cloudcart.money import format_cents
from orders.models import Order


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_data(order: Order) -> dict:
    return {
        "id": order.order_id,
        "status": order.status,
        "reason": order.reason,
        "out_of_stock": list(order.reason_products or []),
        "items": [
            {
                "id": line.product_id,
                "name": line.name,
                "qty": int(line.qty),
                "unit_price": format_cents(line.unit_price_cents),
                "line_total": format_cents(int(line.unit_price_cents) * int(line.qty)),
            }
            for line in order.items
        ],
        "total": format_cents(order.total_cents),
        "currency": order.currency,
        "created_at": _iso(order.created_at),
        "history": [
            {"status": change.status, "at": _iso(change.at), "reason": change.reason}
            for change in order.history
        ],
    }


# --- The same shapes for the OpenAPI schema (documentation only; order_data builds the bodies) ---


class OrderLineSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The product id.")
    name = serializers.CharField(help_text="The product's name at checkout.")
    qty = serializers.IntegerField(min_value=1)
    unit_price = serializers.CharField(help_text="The price at checkout, decimal string.")
    line_total = serializers.CharField()


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["PENDING", "CONFIRMED", "REJECTED", "FAILED"])
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_null=True)


class OrderSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9a-f]{32}$", help_text="Unguessable: 128 random bits.")
    status = serializers.ChoiceField(choices=["PENDING", "CONFIRMED", "REJECTED", "FAILED"])
    reason = serializers.CharField(
        allow_null=True,
        help_text="`out_of_stock` for a REJECTED order, `processing_failed` for a FAILED one.",
    )
    out_of_stock = serializers.ListField(child=serializers.CharField(), help_text="Products that were short.")
    items = OrderLineSerializer(many=True)
    total = serializers.CharField(help_text="Decimal string: the sum of the lines.")
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    history = StatusChangeSerializer(many=True)


ORDER_EXAMPLE = {
    "id": "7a07f9c28f224e6ac5924948494084d4",
    "status": "PENDING",
    "reason": None,
    "out_of_stock": [],
    "items": [{"id": "1", "name": "Smartphone X", "qty": 2, "unit_price": "199.99", "line_total": "399.98"}],
    "total": "399.98",
    "currency": "USD",
    "created_at": "2026-11-27T14:18:25.079571Z",
    "history": [{"status": "PENDING", "at": "2026-11-27T14:18:25.079571Z", "reason": None}],
}
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A unique key per intended order (e.g. a UUID). Repeating the request with the "
    "same key and body replays the first answer; the same key with another body is a 422.",
)

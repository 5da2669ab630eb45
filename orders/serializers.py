"""How an order looks in the API: money as decimal strings, timestamps in ISO 8601 UTC."""

from datetime import datetime

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from cloudcart.money import format_cents
from orders.lifecycle import STATUSES
from orders.models import Order


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country")


def _refund_data(refund) -> dict:
    return {
        "id": refund.refund_id,
        "amount": format_cents(refund.amount_cents),
        "reason": refund.reason,
        "restock": bool(refund.restock),
        "created_at": _iso(refund.created_at),
    }


def payment_data(order: Order, *, owner: bool) -> dict | None:
    """The order's payment: amounts as decimal strings; what Stripe.js needs (the client secret,
    the publishable key) only for the order's owner while it awaits payment."""
    payment = order.payment
    if payment is None:
        return None
    data = {
        "provider": payment.provider,
        "intent_id": payment.intent_id,
        "status": payment.status,
        "amount": format_cents(order.total_cents),
        "currency": order.currency,
        "amount_authorized": format_cents(payment.amount_authorized_cents or 0),
        "amount_captured": format_cents(payment.amount_captured_cents or 0),
        "amount_refunded": format_cents(payment.amount_refunded_cents or 0),
        "refunds": [_refund_data(refund) for refund in payment.refunds or []],
        "last_error": payment.last_error,
    }
    if owner and order.status == Order.AWAITING_PAYMENT:
        data["client_secret"] = payment.client_secret
        data["publishable_key"] = settings.STRIPE_PUBLISHABLE_KEY
        data["js_url"] = settings.STRIPE_JS_URL
    return data


def _address_data(address) -> dict:
    return {name: getattr(address, name) for name in ADDRESS_FIELDS}


def order_version(order: Order) -> int:
    """The order's version; orders stored before versions began count their history instead."""
    return int(order.version) if order.version is not None else len(order.history)


def order_data(order: Order, *, owner: bool = False) -> dict:
    """The order as the API shows it; `owner`: the caller is the customer who placed it."""
    address = order.shipping_address
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
        "version": order_version(order),
        "payment": payment_data(order, owner=owner),
        "shipping_address": _address_data(address) if address is not None else None,
    }


# --- The same shapes for the OpenAPI schema (documentation only; order_data builds the bodies) ---


class OrderLineSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The product id.")
    name = serializers.CharField(help_text="The product's name at checkout.")
    qty = serializers.IntegerField(min_value=1)
    unit_price = serializers.CharField(help_text="The price at checkout, decimal string.")
    line_total = serializers.CharField()


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(STATUSES))
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_null=True)


class RefundSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stripe's refund id (`re_...`).")
    amount = serializers.CharField(help_text="Decimal string.")
    reason = serializers.CharField(allow_null=True)
    restock = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class PaymentSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=["stripe"])
    intent_id = serializers.CharField(help_text="The order's one Stripe PaymentIntent (`pi_...`).")
    status = serializers.ChoiceField(
        choices=["requires_payment_method", "requires_action", "requires_capture", "succeeded", "canceled"],
        help_text="Stripe's status of the intent, as last seen.",
    )
    amount = serializers.CharField(help_text="Decimal string: the order's total.")
    currency = serializers.CharField()
    amount_authorized = serializers.CharField()
    amount_captured = serializers.CharField()
    amount_refunded = serializers.CharField()
    refunds = RefundSerializer(many=True)
    last_error = serializers.CharField(allow_null=True, help_text="Stripe's message for the last decline.")
    client_secret = serializers.CharField(
        required=False, help_text="Only for the order's owner while AWAITING_PAYMENT: for Stripe.js."
    )
    publishable_key = serializers.CharField(required=False, help_text="With `client_secret`: Stripe's key.")
    js_url = serializers.CharField(required=False, help_text="With `client_secret`: where Stripe.js is.")


class ShippingAddressSerializer(serializers.Serializer):
    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_null=True)
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2.")


class OrderSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9a-f]{32}$", help_text="Unguessable: 128 random bits.")
    status = serializers.ChoiceField(choices=list(STATUSES))
    reason = serializers.CharField(
        allow_null=True,
        help_text="`out_of_stock` or `payment_failed` for a REJECTED order, `processing_failed` for a "
        "FAILED one.",
    )
    out_of_stock = serializers.ListField(child=serializers.CharField(), help_text="Products that were short.")
    items = OrderLineSerializer(many=True)
    total = serializers.CharField(help_text="Decimal string: the sum of the lines.")
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    history = StatusChangeSerializer(many=True)
    version = serializers.IntegerField(
        help_text="Grows by 1 with every change of status, payment or refunds."
    )
    payment = PaymentSerializer(allow_null=True, help_text="null when the shop takes no payments.")
    shipping_address = ShippingAddressSerializer(allow_null=True)


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
    "version": 1,
    "payment": None,
    "shipping_address": None,
}
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A unique key per intended order (e.g. a UUID). Repeating the request with the "
    "same key and body replays the first answer; the same key with another body is a 422.",
)

"""The text messages an order sends to a customer who opted in: confirmed, and each refund."""

from django.conf import settings

from cloudcart.money import format_cents
from orders.models import Order, PaymentRefund

SMS_STATES = frozenset({"CONFIRMED", "PARTIALLY_REFUNDED", "REFUNDED"})


def order_sms_wanted(order: Order) -> bool:
    """Only with the customer's consent (`sms_opt_in`) and a number to text."""
    return bool(order.sms_opt_in and order.phone)


def order_sms_render(*, order: Order, status: str, refund: PaymentRefund | None = None) -> str:
    """One short message (a single SMS segment where it can be): what happened and the amount."""
    short_id = order.order_id[:8]
    if status == "CONFIRMED":
        total = format_cents(order.total_cents)
        text = f"{settings.SHOP_NAME}: order {short_id} is confirmed, {total} {order.currency}."
    else:
        amount = format_cents(refund.amount_cents) if refund is not None else "?"
        text = f"{settings.SHOP_NAME}: we refunded {amount} {order.currency} for order {short_id}."
    if settings.SHOP_URL:
        text += f" {settings.SHOP_URL.rstrip('/')}/orders/{order.order_id}"
    return text

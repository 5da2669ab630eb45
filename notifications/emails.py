"""The e-mails an order sends: subject, plain text and HTML, rendered from Django templates."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string

from cloudcart.money import format_cents
from orders.models import Order, PaymentRefund

# The states that e-mail the customer (an order being placed or failing internally does not; the
# payment itself does not either: the receipt follows it within seconds and says it was charged).
_TEMPLATES = {
    "CONFIRMED": "notifications/receipt",
    "REJECTED": "notifications/rejected",
    "EXPIRED": "notifications/expired",
    "CANCELLED": "notifications/cancelled",
    "PARTIALLY_REFUNDED": "notifications/refunded",
    "REFUNDED": "notifications/refunded",
}
EMAILED_STATES = frozenset(_TEMPLATES)


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def order_email_render(*, order: Order, status: str, refund: PaymentRefund | None = None) -> Email:
    """The e-mail for `order` having reached `status` (CONFIRMED: the receipt; REJECTED, EXPIRED,
    CANCELLED: what happened; a refund state: that `refund`)."""
    if not settings.NOTIFICATIONS_SENDER or not settings.SHOP_URL:
        # Before any claim: the task fails, retries and dead-letters; nothing is marked sent.
        raise ImproperlyConfigured("Set NOTIFICATIONS_SENDER and SHOP_URL to send order e-mails.")
    names = {line.product_id: line.name for line in order.items}
    context = {
        "shop_name": settings.SHOP_NAME,
        "order_id": order.order_id,
        "short_id": order.order_id[:8],
        "order_url": f"{settings.SHOP_URL.rstrip('/')}/orders/{order.order_id}",
        "lines": [
            {
                "name": line.name,
                "qty": int(line.qty),
                "unit_price": format_cents(line.unit_price_cents),
                "line_total": format_cents(int(line.unit_price_cents) * int(line.qty)),
            }
            for line in order.items
        ],
        "total": format_cents(order.total_cents),
        "currency": order.currency,
        "reason": order.reason,
        "out_of_stock": [names.get(pid, pid) for pid in order.reason_products or []],
        # Paid by card (Stripe): the receipt says it was charged; refunds say how much came back.
        "paid": order.payment is not None,
        "refund_amount": format_cents(refund.amount_cents) if refund is not None else None,
        "refunded_in_full": status == "REFUNDED",
    }
    template = _TEMPLATES[status]
    subject = render_to_string(f"{template}_subject.txt", context)
    return Email(
        subject=" ".join(subject.split()),  # one line, whatever the template's whitespace
        text=render_to_string(f"{template}.txt", context),
        html=render_to_string(f"{template}.html", context),
    )

"""The order event: a small versioned JSON document per order state change (docs/events.md)."""

from dataclasses import dataclass

from cloudcart.money import format_cents
from orders.models import Order, PaymentRefund, StatusChange

# Bump on a change a subscriber could trip over (a field removed or changing meaning); adding a
# field is not one. Subscribers filter on the `type` message attribute.
EVENT_VERSION = 1
EVENT_TYPES = {
    "AWAITING_PAYMENT": "order.placed",
    "PENDING": "order.placed",
    "CONFIRMED": "order.confirmed",
    "REJECTED": "order.rejected",
    "FAILED": "order.failed",
    "EXPIRED": "order.expired",
    "CANCELLED": "order.cancelled",
    "PARTIALLY_REFUNDED": "order.refunded",
    "REFUNDED": "order.refunded",
}
# States an order may enter more than once with news each time: one notice per refund.
REFUND_STATES = frozenset({"PARTIALLY_REFUNDED", "REFUNDED"})


@dataclass(frozen=True)
class Notice:
    """One thing to tell about an order: a state it reached (its first time), or one refund.

    `name` keys the notice's markers and event id: the status ("CONFIRMED"), or for a refund the
    status and Stripe's refund id ("PARTIALLY_REFUNDED:re_..."), so each refund is told once.
    """

    name: str
    change: StatusChange
    refund: PaymentRefund | None = None

    @property
    def status(self) -> str:
        return self.change.status


def _iso(change: StatusChange) -> str:
    return change.at.isoformat().replace("+00:00", "Z")


def event_type(status: str, *, paid: bool = False) -> str:
    """`paid`: PENDING reached from AWAITING_PAYMENT is the payment, not the order being placed."""
    if status == "PENDING" and paid:
        return "order.paid"
    return EVENT_TYPES.get(status, f"order.{status.lower()}")


def _paid(order: Order) -> bool:
    return bool(order.history) and order.history[0].status == "AWAITING_PAYMENT"


def order_event(*, order: Order, notice: Notice | None = None, change: StatusChange | None = None) -> dict:
    """The event for `notice` (or for the order reaching `change.status`). `id` is the same for
    every publish of the same notice: subscribers deduplicate on it (SNS itself delivers at least
    once)."""
    if notice is None:
        notice = Notice(name=change.status, change=change)
    change = notice.change
    refund = notice.refund
    return {
        "id": f"{order.order_id}:{notice.name}",
        "type": event_type(change.status, paid=_paid(order)),
        "version": EVENT_VERSION,
        "order_id": order.order_id,
        "status": change.status,
        "reason": change.reason,
        "out_of_stock": list(order.reason_products or []) if change.status == "REJECTED" else [],
        "total": format_cents(order.total_cents),
        "currency": order.currency,
        "lines": [
            {
                "id": line.product_id,
                "name": line.name,
                "qty": int(line.qty),
                "unit_price": format_cents(line.unit_price_cents),
                "line_total": format_cents(int(line.unit_price_cents) * int(line.qty)),
            }
            for line in order.items
        ],
        # Refund events: the refund this one tells (each refund has its own event).
        "refund": None
        if refund is None
        else {
            "id": refund.refund_id,
            "amount": format_cents(refund.amount_cents),
            "restock": bool(refund.restock),
        },
        "customer_id": order.customer_id,
        "occurred_at": _iso(change),
        "request_id": order.request_id,
    }


def order_notices(order: Order) -> list[Notice]:
    """What the order has to tell, in the order it happened: each state once (its first time), and
    each refund once (the n-th refund state change is the n-th refund: recorded together)."""
    seen: set[str] = set()
    refunds = list(order.payment.refunds or []) if order.payment is not None else []
    notices = []
    for change in order.history:
        if change.status in REFUND_STATES:
            if not refunds:
                continue  # cannot happen: a refund state is recorded with its refund
            refund = refunds.pop(0)
            notices.append(Notice(name=f"{change.status}:{refund.refund_id}", change=change, refund=refund))
        elif change.status not in seen:
            seen.add(change.status)
            notices.append(Notice(name=change.status, change=change))
    return notices

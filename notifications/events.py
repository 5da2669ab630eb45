"""The order event: a small versioned JSON document per order state change (docs/events.md)."""

from cloudcart.money import format_cents
from orders.models import Order, StatusChange

# Bump on a change a subscriber could trip over (a field removed or changing meaning); adding a
# field is not one. Subscribers filter on the `type` message attribute.
EVENT_VERSION = 1
EVENT_TYPES = {
    "PENDING": "order.placed",
    "CONFIRMED": "order.confirmed",
    "REJECTED": "order.rejected",
    "FAILED": "order.failed",
}


def _iso(change: StatusChange) -> str:
    return change.at.isoformat().replace("+00:00", "Z")


def event_type(status: str) -> str:
    return EVENT_TYPES.get(status, f"order.{status.lower()}")


def order_event(*, order: Order, change: StatusChange) -> dict:
    """The event for `order` reaching `change.status`. `id` is the same for every publish of the
    same order and state: subscribers deduplicate on it (SNS itself delivers at least once)."""
    return {
        "id": f"{order.order_id}:{change.status}",
        "type": event_type(change.status),
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
        "customer_id": order.customer_id,
        "occurred_at": _iso(change),
        "request_id": order.request_id,
    }


def order_state_changes(order: Order) -> list[StatusChange]:
    """The order's states in the order they happened, each once (its first time)."""
    seen: set[str] = set()
    changes = []
    for change in order.history:
        if change.status not in seen:
            seen.add(change.status)
            changes.append(change)
    return changes

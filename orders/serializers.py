"""How an order looks in the API: money as decimal strings, timestamps in ISO 8601 UTC."""

from datetime import datetime

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

"""Order reads: one order, the stale PENDING orders (status index), an idempotency record."""

from datetime import UTC, datetime

from cloudcart.errors import OrderNotFound
from orders.models import IdempotencyKey, Order, StatusIndex


def order_get(*, order_id: str) -> Order:
    try:
        return Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist:
        raise OrderNotFound() from None


def orders_pending_before(*, cutoff: datetime, limit: int) -> list[str]:
    """Ids of orders still PENDING that were created before `cutoff`, oldest first.

    A Query on the status index (status = PENDING, created_at < cutoff): its cost follows the
    number of pending orders, never the size of the table. The index is eventually consistent,
    which is fine here: the worker re-reads each order before doing anything.
    """
    results = Order.status_index.query(
        Order.PENDING,
        range_key_condition=StatusIndex.created_at < cutoff,
        limit=limit,
        attributes_to_get=["order_id"],
    )
    return [order.order_id for order in results]


def idempotency_record_get(*, key: str, now: datetime | None = None) -> IdempotencyKey | None:
    """The live record for a (scoped, hashed) key; an expired one counts as absent (moto never
    expires TTL items, and DynamoDB may take days to)."""
    try:
        record = IdempotencyKey.get(key, consistent_read=True)
    except IdempotencyKey.DoesNotExist:
        return None
    if record.expires_at <= (now or datetime.now(UTC)):
        return None
    return record

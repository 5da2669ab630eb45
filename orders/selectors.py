"""Order reads: one order, the stale PENDING orders (status index), an idempotency record."""

from datetime import UTC, datetime

from cloudcart.errors import OrderNotFound
from orders.models import IdempotencyKey, Order, StatusIndex


def order_get(*, order_id: str) -> Order:
    try:
        return Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist:
        raise OrderNotFound() from None


def orders_due_for_republish(*, created_before: datetime, now: datetime, limit: int) -> list[Order]:
    """Up to `limit` orders still PENDING, created before `created_before`, whose republish is due
    at `now`, oldest first.

    A Query on the status index (status = PENDING, created_at < cutoff): its cost follows the
    number of pending orders, never the size of the table. Orders published recently are dropped
    by the filter before they count towards `limit`, so old stuck orders cannot fill every batch
    and starve newer ones. The index is eventually consistent, which is fine here: the republish
    is conditional on what the order item says.
    """
    results = Order.status_index.query(
        Order.PENDING,
        range_key_condition=StatusIndex.created_at < created_before,
        filter_condition=Order.republish_at.does_not_exist() | (Order.republish_at <= now),
        limit=limit,
        page_size=min(limit, 100),
    )
    return list(results)


def orders_pending_oldest() -> datetime | None:
    """When the oldest order still PENDING was created (None if there is none): one Query item."""
    for order in Order.status_index.query(Order.PENDING, limit=1, attributes_to_get=["created_at"]):
        return order.created_at
    return None


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

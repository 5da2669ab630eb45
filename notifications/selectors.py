"""Notification reads: an order with its markers, an order's markers, one marker."""

from cloudcart import aws
from notifications.models import NotificationMarker
from orders.models import Order


def order_markers(*, order_id: str) -> dict[str, NotificationMarker]:
    """Every marker of `order_id` by key ("CONFIRMED#email"): one consistent Query."""
    return {marker.key: marker for marker in NotificationMarker.query(order_id, consistent_read=True)}


def order_with_markers(
    *, order_id: str, keys: frozenset[str]
) -> tuple[Order | None, dict[str, NotificationMarker]] | None:
    """The order (None if there is none) and those of its markers named in `keys` that exist, by
    key: one consistent BatchGetItem over both tables. None when DynamoDB left keys unprocessed
    (throttled): the caller retries the whole read later."""
    items = aws.batch_get_items(
        {
            Order.Meta.table_name: {"Keys": [{"order_id": {"S": order_id}}], "ConsistentRead": True},
            NotificationMarker.Meta.table_name: {
                "Keys": [{"order_id": {"S": order_id}, "key": {"S": key}} for key in sorted(keys)],
                "ConsistentRead": True,
            },
        },
        attempts=1,  # the task's retry, with its backoff, is the read again
        backoff_seconds=0,
    )
    if items is None:
        return None
    orders = [Order.from_raw_data(item) for item in items.get(Order.Meta.table_name, [])]
    markers = [
        NotificationMarker.from_raw_data(item) for item in items.get(NotificationMarker.Meta.table_name, [])
    ]
    return (orders[0] if orders else None), {marker.key: marker for marker in markers}


def marker_get(*, order_id: str, key: str) -> NotificationMarker | None:
    try:
        return NotificationMarker.get(order_id, key, consistent_read=True)
    except NotificationMarker.DoesNotExist:
        return None

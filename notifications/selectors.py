"""Notification reads: an order's markers."""

from notifications.models import NotificationMarker


def order_markers(*, order_id: str) -> dict[str, NotificationMarker]:
    """Every marker of `order_id` by key ("CONFIRMED#email"): one consistent Query."""
    return {marker.key: marker for marker in NotificationMarker.query(order_id, consistent_read=True)}


def marker_get(*, order_id: str, key: str) -> NotificationMarker | None:
    try:
        return NotificationMarker.get(order_id, key, consistent_read=True)
    except NotificationMarker.DoesNotExist:
        return None

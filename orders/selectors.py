"""Order reads: one order, the stale PENDING orders (status index), an idempotency record."""

from datetime import UTC, datetime

from cloudcart.pagination import Page, decode_cursor, encode_cursor
from orders.errors import OrderNotFound
from orders.models import CustomerIndex, IdempotencyKey, Order, StatusIndex

# The key of a customer-index page's last order: the table's key and the index's.
_CUSTOMER_PAGE_KEY = frozenset({"order_id", "customer_id", "created_at"})


def order_get(*, order_id: str) -> Order:
    try:
        return Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist:
        raise OrderNotFound() from None


def order_get_for(*, order_id: str, customer_id: str | None, is_staff: bool) -> Order:
    """An order as the caller may see it: a customer's order answers only to that customer and to
    staff; anyone else gets the same 404 as for an unknown id (its existence is not revealed).
    A guest order answers to whoever holds its unguessable id."""
    order = order_get(order_id=order_id)
    if order.customer_id and not is_staff and order.customer_id != customer_id:
        raise OrderNotFound()
    return order


def order_is_owner(order: Order, *, customer_id: str | None, cart_id: str | None) -> bool:
    """Whether the caller placed the order: the signed-in customer it belongs to, or, for a guest
    order, the client holding the cart id it was checked out with."""
    if order.customer_id:
        return customer_id == order.customer_id
    return cart_id is not None and cart_id == order.cart_id


def order_get_for_owner(*, order_id: str, customer_id: str | None, cart_id: str | None) -> Order:
    """The order, if the caller placed it; anyone else gets the same 404 as for an unknown id."""
    order = order_get(order_id=order_id)
    if not order_is_owner(order, customer_id=customer_id, cart_id=cart_id):
        raise OrderNotFound()
    return order


def orders_of_customer(*, customer_id: str, limit: int, cursor: str | None = None) -> Page:
    """The customer's orders, newest first: one Query of the customer index per page (O(page)).

    The index is eventually consistent: an order placed a moment ago may show a moment later.
    The cursor names the customer, so one customer's cursor cannot page through another's orders.
    """
    listing = f"orders#{customer_id}"
    start = decode_cursor(cursor, listing=listing, key_names=_CUSTOMER_PAGE_KEY) if cursor else None
    # One more than the page: then the last page has no `next` (DynamoDB alone offers an empty one).
    orders = list(
        Order.customer_index.query(
            customer_id,
            scan_index_forward=False,
            limit=limit + 1,
            last_evaluated_key={name: {"S": value} for name, value in start.items()} if start else None,
        )
    )
    next_cursor = None
    if len(orders) > limit:
        orders = orders[:limit]
        last = orders[-1]
        next_cursor = encode_cursor(
            listing=listing,
            key={
                "order_id": last.order_id,
                "customer_id": last.customer_id,
                "created_at": CustomerIndex.created_at.serialize(last.created_at),
            },
        )
    return Page(items=orders, next_cursor=next_cursor)


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


def orders_awaiting_payment(*, created_before: datetime, limit: int) -> list[Order]:
    """Up to `limit` orders still AWAITING_PAYMENT created before `created_before`, oldest first:
    a Query on the status index (never a Scan). Eventually consistent: every write the payments
    reconciler makes from it is conditional on the order item."""
    results = Order.status_index.query(
        Order.AWAITING_PAYMENT,
        range_key_condition=StatusIndex.created_at < created_before,
        limit=limit,
        page_size=min(limit, 100),
    )
    return list(results)


def orders_pending_oldest(*, status: str = Order.PENDING) -> datetime | None:
    """When the oldest order still in `status` (PENDING) was created (None if there is none): one
    Query item."""
    for order in Order.status_index.query(status, limit=1, attributes_to_get=["created_at"]):
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

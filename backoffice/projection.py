"""From a DynamoDB order item to ledger rows, and the conditional upsert that never goes back in time.

The items are read with the low-level client (consistent reads) and mapped here, so the ledger
follows every attribute the orders table holds (payment, refunds, address) without depending on
which of them a PynamoDB model declares. A row is written only when the item's `version` is later
than the row's (`ON CONFLICT ... DO UPDATE ... WHERE ledger.version < excluded.version`), so a
slow projector thread holding an older read can never overwrite a newer state.
"""

import json
import logging
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from boto3.dynamodb.types import TypeDeserializer
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from backoffice.models import Customer, Order, OrderLine, Refund, StatusChange
from cloudcart import aws

logger = logging.getLogger(__name__)

_deserializer = TypeDeserializer()
# Orders whose customers count as having paid: the totals of these, less refunds, are "spent".
SPENT_STATUSES = ("CONFIRMED", "PARTIALLY_REFUNDED", "REFUNDED")
# BatchGetItem takes at most 100 keys. A throttled read is asked for again up to 8 calls in all,
# from 50 ms apart doubling (~6 s at worst): the projector has no shopper waiting.
BATCH_GET_MAX = 100
BATCH_GET_ATTEMPTS = 8
BATCH_GET_BACKOFF_SECONDS = 0.05


def item_from_dynamodb(raw: dict) -> dict:
    """A low-level DynamoDB item (`{"S": ...}` values) as plain Python values."""
    return {name: _deserializer.deserialize(value) for name, value in raw.items()}


def parse_time(value) -> datetime | None:
    """PynamoDB's UTCDateTimeAttribute format (`2026-11-27T14:18:26.104211+0000`), ISO 8601, or
    epoch seconds, as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float, Decimal)):
        return datetime.fromtimestamp(float(value), tz=UTC)
    text = str(value).replace("Z", "+00:00")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cents(value) -> int:
    return int(value or 0)


def _plain(value):
    """Deserialized DynamoDB values as JSON-safe ones (Decimal -> int or str)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(inner) for inner in value]
    return value


@dataclass
class Snapshot:
    """One order item as ledger rows: the order's columns and its children."""

    row: dict
    lines: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def version(self) -> int:
        return self.row["version"]


def snapshot_from_item(item: dict) -> Snapshot:
    """The ledger's view of a (deserialized) order item."""
    history = item.get("history") or []
    changes = [
        {
            "position": n,
            "status": entry["status"],
            "at": parse_time(entry["at"]),
            "reason": entry.get("reason"),
        }
        for n, entry in enumerate(history)
    ]
    created_at = parse_time(item["created_at"])
    payment = item.get("payment") or {}
    refunds = [
        {
            "refund_id": str(refund.get("refund_id") or refund.get("id") or f"refund-{n}"),
            "amount_cents": _cents(refund.get("amount_cents")),
            "restock": bool(refund.get("restock")),
            "reason": refund.get("reason"),
            "created_at": parse_time(refund.get("created_at")),
            "by": refund.get("by"),
        }
        for n, refund in enumerate(payment.get("refunds") or [])
    ]
    lines = [
        {
            "position": n,
            "product_id": str(line["product_id"]),
            "name": str(line["name"])[:200],
            "unit_price_cents": _cents(line["unit_price_cents"]),
            "qty": int(line["qty"]),
            "line_total_cents": _cents(line["unit_price_cents"]) * int(line["qty"]),
        }
        for n, line in enumerate(item.get("items") or [])
    ]
    address = item.get("shipping_address")
    row = {
        "id": item["order_id"],
        "status": item["status"],
        "reason": item.get("reason"),
        "total_cents": _cents(item.get("total_cents")),
        "currency": item.get("currency") or settings.SHOP_CURRENCY,
        "customer_id": item.get("customer_id"),
        "email": item.get("email"),
        "shipping_address": _plain(address) if address else None,
        "phone": item.get("phone"),
        "payment_provider": payment.get("provider") or "",
        "payment_status": payment.get("status") or "",
        "payment_intent_id": payment.get("intent_id") or "",
        "amount_authorized_cents": _cents(payment.get("amount_authorized_cents")),
        "amount_captured_cents": _cents(payment.get("amount_captured_cents")),
        "amount_refunded_cents": _cents(payment.get("amount_refunded_cents")),
        "payment_error": payment.get("last_error") or "",
        "request_id": item.get("request_id"),
        "created_at": created_at,
        "updated_at": max([created_at, *(change["at"] for change in changes)]),
        # Orders stored before versions were counted: one version per history entry.
        "version": int(item.get("version") or len(history)),
    }
    return Snapshot(row=row, lines=lines, changes=changes, refunds=refunds)


# --- Reading DynamoDB ---------------------------------------------------------------------------


def orders_read(order_ids) -> dict[str, dict]:
    """The order items for `order_ids` (consistent reads, BatchGetItem); unknown ids are absent."""
    table = settings.ORDERS_TABLE
    ids = sorted(set(order_ids))
    found: dict[str, dict] = {}
    for start in range(0, len(ids), BATCH_GET_MAX):
        keys = [{"order_id": {"S": i}} for i in ids[start : start + BATCH_GET_MAX]]
        read = aws.batch_get_items(
            {table: {"Keys": keys, "ConsistentRead": True}},
            attempts=BATCH_GET_ATTEMPTS,
            backoff_seconds=BATCH_GET_BACKOFF_SECONDS,
        )
        if read is None:
            raise RuntimeError(f"DynamoDB left keys unprocessed after {BATCH_GET_ATTEMPTS} calls")
        for raw in read.get(table, []):
            item = item_from_dynamodb(raw)
            found[item["order_id"]] = item
    return found


def orders_scan_page(*, start_key: dict | None, limit: int) -> tuple[list[dict], dict | None]:
    """One page of the orders table (consistent Scan) and the key to continue from (None: done)."""
    params = {"TableName": settings.ORDERS_TABLE, "Limit": limit, "ConsistentRead": True}
    if start_key:
        params["ExclusiveStartKey"] = start_key
    answer = aws.client("dynamodb").scan(**params)
    return [item_from_dynamodb(raw) for raw in answer.get("Items", [])], answer.get("LastEvaluatedKey")


# --- Writing the ledger -----------------------------------------------------------------------

_ORDER_COLUMNS = [f.column for f in Order._meta.concrete_fields]
_JSON_COLUMNS = {"shipping_address"}


def _order_values(snapshot: Snapshot, now: datetime) -> list:
    values = []
    for column in _ORDER_COLUMNS:
        value = now if column == "projected_at" else snapshot.row[column]
        if column in _JSON_COLUMNS and value is not None:
            value = json.dumps(value)
        values.append(value)
    return values


def _customer_lock_keys(customer_ids) -> list[int]:
    return sorted({zlib.crc32(f"backoffice.customer:{cid}".encode()) for cid in customer_ids})


def ledger_upsert(*, snapshots: list[Snapshot], replace_equal: bool = False) -> list[str]:
    """Write each order whose version is later than the ledger's (or equal, with `replace_equal`:
    a rebuild from the system of record); return the ids written. One transaction."""
    latest: dict[str, Snapshot] = {}
    for snapshot in snapshots:
        if snapshot.id not in latest or snapshot.version > latest[snapshot.id].version:
            latest[snapshot.id] = snapshot
    if not latest:
        return []
    # Sorted ids: concurrent projector threads lock rows in one order, never in a cycle.
    ordered = [latest[key] for key in sorted(latest)]
    now = timezone.now()
    table = connection.ops.quote_name(Order._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _ORDER_COLUMNS)
    placeholders = "(" + ", ".join(["%s"] * len(_ORDER_COLUMNS)) + ")"
    updates = ", ".join(
        f"{connection.ops.quote_name(c)} = excluded.{connection.ops.quote_name(c)}"
        for c in _ORDER_COLUMNS
        if c != "id"
    )
    guard = "<=" if replace_equal else "<"
    # Only identifiers from the model and placeholders are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(ordered))} "  # noqa: S608
        f"ON CONFLICT (id) DO UPDATE SET {updates} WHERE {table}.version {guard} excluded.version "
        "RETURNING id"
    )
    params = [value for snapshot in ordered for value in _order_values(snapshot, now)]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            written = {row[0] for row in cursor.fetchall()}
        if not written:
            return []
        chosen = [latest[key] for key in sorted(written)]
        # Children follow their order: replaced whole, in the transaction that wrote the order.
        for model in (OrderLine, StatusChange, Refund):
            model.objects.filter(order_id__in=written).delete()
        OrderLine.objects.bulk_create(OrderLine(order_id=s.id, **line) for s in chosen for line in s.lines)
        StatusChange.objects.bulk_create(
            StatusChange(order_id=s.id, **change) for s in chosen for change in s.changes
        )
        Refund.objects.bulk_create(Refund(order_id=s.id, **refund) for s in chosen for refund in s.refunds)
        customers_refresh(customer_ids={s.row["customer_id"] for s in chosen if s.row["customer_id"]})
    return sorted(written)


def customers_refresh(*, customer_ids) -> None:
    """Recompute the customers' totals from their ledger orders (inside the caller's transaction).

    On PostgreSQL each customer is locked (a transaction-level advisory lock) before its orders
    are summed: two projector threads writing one customer's orders at once then sum in turn,
    and the second sees the first's committed orders, so no total is computed from a stale view.
    """
    if not customer_ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for key in _customer_lock_keys(customer_ids):
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    totals = (
        Order.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(
            first=Min("created_at"),
            last=Max("created_at"),
            count=Count("id"),
            spent=Sum("total_cents", filter=Q(status__in=SPENT_STATUSES), default=0)
            - Sum("amount_refunded_cents", filter=Q(status__in=SPENT_STATUSES), default=0),
        )
    )
    emails = dict(
        Order.objects.filter(customer_id__in=customer_ids, email__isnull=False)
        .order_by("customer_id", "-created_at")
        .values_list("customer_id", "email")
        .distinct("customer_id")
        if connection.vendor == "postgresql"
        else Order.objects.filter(customer_id__in=customer_ids, email__isnull=False)
        .order_by("customer_id", "created_at")
        .values_list("customer_id", "email")
    )
    Customer.objects.bulk_create(
        [
            Customer(
                cognito_id=row["customer_id"],
                email=emails.get(row["customer_id"]),
                first_order_at=row["first"],
                last_order_at=row["last"],
                order_count=row["count"],
                total_spent_cents=row["spent"],
            )
            for row in totals
        ],
        update_conflicts=True,
        unique_fields=["cognito_id"],
        update_fields=["email", "first_order_at", "last_order_at", "order_count", "total_spent_cents"],
    )


def orders_project(*, order_ids, replace_equal: bool = False) -> tuple[list[str], list[str]]:
    """Read the orders from DynamoDB and upsert them: (ids written, ids DynamoDB does not have)."""
    items = orders_read(order_ids)
    missing = sorted(set(order_ids) - set(items))
    written = ledger_upsert(
        snapshots=[snapshot_from_item(item) for item in items.values()], replace_equal=replace_equal
    )
    return written, missing

"""Whole-ledger jobs against the system of record: rebuild it from DynamoDB, and compare the two.

Both walk the orders table in pages (a consistent Scan; O(orders) reads, one page in memory at a
time). The rebuild saves its position after each page in the same transaction as the page's
rows, so a rerun after a crash resumes at the next page.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from backoffice.models import LedgerCursor, Order
from backoffice.projection import Snapshot, ledger_upsert, orders_scan_page, snapshot_from_item

REBUILD = "rebuild"


@dataclass(frozen=True)
class RebuildResult:
    pages: int
    orders: int
    written: int
    resumed: bool


def ledger_rebuild(
    *, page_size: int = 500, restart: bool = False, on_page: Callable[[int, int], None] | None = None
) -> RebuildResult:
    """Upsert every order from DynamoDB (a row equal in version is rewritten too: the table is the
    truth). Resumes where a previous run stopped unless `restart`."""
    cursor, _ = LedgerCursor.objects.get_or_create(name=REBUILD)
    resumed = bool(cursor.position) and not restart
    start_key = json.loads(cursor.position) if resumed else None
    done = cursor.done if resumed else 0
    pages = written = 0
    while True:
        items, next_key = orders_scan_page(start_key=start_key, limit=page_size)
        with transaction.atomic():
            written += len(
                ledger_upsert(snapshots=[snapshot_from_item(i) for i in items], replace_equal=True)
            )
            done += len(items)
            LedgerCursor.objects.filter(name=REBUILD).update(
                position=json.dumps(next_key) if next_key else "", done=0 if next_key is None else done
            )
        pages += 1
        if on_page is not None:
            on_page(pages, done)
        if not next_key:
            return RebuildResult(pages=pages, orders=done, written=written, resumed=resumed)
        start_key = next_key


# The order columns compared (projected_at is the ledger's own).
_COMPARED = [f.column for f in Order._meta.concrete_fields if f.column != "projected_at"]


def _ledger_snapshot(order: Order) -> Snapshot:
    row = {column: getattr(order, column) for column in _COMPARED}
    return Snapshot(
        row=row,
        lines=[
            {k: getattr(line, k) for k in ("position", "product_id", "name", "unit_price_cents", "qty")}
            for line in order.lines.all()
        ],
        changes=[
            {k: getattr(c, k) for k in ("position", "status", "at", "reason")}
            for c in order.status_changes.all()
        ],
        refunds=[
            {k: getattr(r, k) for k in ("refund_id", "amount_cents", "restock")} for r in order.refunds.all()
        ],
    )


def _compare(truth: Snapshot, ledger: Snapshot) -> list[str]:
    differences = [
        f"{column}: ledger={ledger.row[column]!r} dynamodb={truth.row[column]!r}"
        for column in _COMPARED
        if truth.row[column] != ledger.row[column]
    ]
    lines = [
        {k: line[k] for k in ("position", "product_id", "name", "unit_price_cents", "qty")}
        for line in truth.lines
    ]
    if lines != ledger.lines:
        differences.append(f"lines: ledger has {len(ledger.lines)}, dynamodb {len(lines)} (or they differ)")
    if truth.changes != ledger.changes:
        differences.append(
            f"history: ledger has {len(ledger.changes)} entries, dynamodb {len(truth.changes)}"
        )
    refunds = [{k: r[k] for k in ("refund_id", "amount_cents", "restock")} for r in truth.refunds]
    if refunds != ledger.refunds:
        differences.append(f"refunds: ledger has {len(ledger.refunds)}, dynamodb {len(refunds)}")
    return differences


def ledger_differences(*, since: datetime | None = None, page_size: int = 500) -> Iterator[str]:
    """Every way the ledger differs from DynamoDB, one line each: orders missing from the ledger,
    orders that differ (which fields), and ledger orders DynamoDB does not have. With `since`,
    only orders created at or after it."""
    seen: set[str] = set()
    start_key = None
    while True:
        items, start_key = orders_scan_page(start_key=start_key, limit=page_size)
        truths = [snapshot_from_item(item) for item in items]
        if since is not None:
            truths = [t for t in truths if t.row["created_at"] >= since]
        seen.update(t.id for t in truths)
        rows = Order.objects.filter(id__in=[t.id for t in truths]).prefetch_related(
            "lines", "status_changes", "refunds"
        )
        ledger = {order.id: _ledger_snapshot(order) for order in rows}
        for truth in truths:
            if truth.id not in ledger:
                status, version = truth.row["status"], truth.version
                yield f"order {truth.id}: missing from the ledger (dynamodb: {status}, version {version})"
                continue
            for difference in _compare(truth, ledger[truth.id]):
                yield f"order {truth.id}: {difference}"
        if not start_key:
            break
    extra = Order.objects.all() if since is None else Order.objects.filter(created_at__gte=since)
    for order_id in extra.values_list("id", flat=True).order_by("id").iterator(chunk_size=2000):
        if order_id not in seen:
            yield f"order {order_id}: in the ledger, not in DynamoDB"

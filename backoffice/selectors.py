"""Ledger reads for the admin: order search, an order count that does not scan, the sales report."""

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Avg, Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.functional import cached_property

from backoffice.models import Order, OrderLine
from backoffice.projection import SPENT_STATUSES

ORDER_ID = re.compile(r"[0-9a-f]{32}")
# Below this many estimated rows a page's total is counted exactly (cheap through the indexes).
EXACT_COUNT_BELOW = 20_000


def orders_search(queryset: QuerySet, *, term: str) -> QuerySet:
    """Orders matching `term`: an e-mail (case-insensitive, exact: an index lookup), an order id, or
    a product id or a part of a product's name (trigram index on PostgreSQL)."""
    term = term.strip()
    if not term:
        return queryset
    if "@" in term:
        return queryset.filter(email__iexact=term)
    if ORDER_ID.fullmatch(term.lower()):
        return queryset.filter(id=term.lower())
    lines = OrderLine.objects.filter(Q(product_id=term) | Q(name__icontains=term)).values("order_id")
    return queryset.filter(Q(id=term) | Q(id__in=lines))


def estimated_count(queryset: QuerySet) -> int:
    """The rows `queryset` would return: the planner's estimate when it is large (no COUNT(*)
    over 100,000 orders to draw a page), an exact count when it is small."""
    if connection.vendor == "postgresql":
        sql, params = queryset.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        if estimate >= EXACT_COUNT_BELOW:
            return estimate
    return queryset.count()


class EstimatedCountPaginator(Paginator):
    """Django's paginator with `estimated_count` in place of COUNT(*): page links stay right for
    small results and near enough for huge ones, and a page costs O(page)."""

    @cached_property
    def count(self) -> int:
        return estimated_count(self.object_list)


@dataclass(frozen=True)
class SalesReport:
    days: list[dict]  # {"day", "orders", "revenue_cents"} for each of the last `window` days
    by_status: list[dict]  # {"status", "orders"}
    average_order_cents: int
    revenue_cents: int
    paid_orders: int
    top_products: list[dict]  # {"product_id", "name", "units", "revenue_cents"}


def sales_report(*, window_days: int = 30, today: date | None = None) -> SalesReport:
    """Revenue per day, orders by status, average order value and the top 10 products over the
    last `window_days` days (today included), all from SQL aggregates over the ledger."""
    today = today or timezone.localdate()
    start = today - timedelta(days=window_days - 1)
    since = timezone.make_aware(timezone.datetime.combine(start, timezone.datetime.min.time()))
    recent = Order.objects.filter(created_at__gte=since)
    paid = recent.filter(status__in=SPENT_STATUSES)
    kept = F("total_cents") - F("amount_refunded_cents")
    per_day = {
        row["day"]: row
        for row in paid.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(orders=Count("id"), revenue_cents=Sum(kept))
        .order_by("day")
    }
    days = [
        {
            "day": day,
            "orders": per_day.get(day, {}).get("orders", 0),
            "revenue_cents": per_day.get(day, {}).get("revenue_cents", 0) or 0,
        }
        for day in (start + timedelta(days=n) for n in range(window_days))
    ]
    totals = paid.aggregate(revenue=Sum(kept, default=0), average=Avg("total_cents"), orders=Count("id"))
    # Grouped by product id; a product renamed meanwhile shows one of its names.
    top = (
        OrderLine.objects.filter(order__created_at__gte=since, order__status__in=SPENT_STATUSES)
        .values("product_id")
        .annotate(name=Max("name"), units=Sum("qty"), revenue_cents=Sum("line_total_cents"))
        .order_by("-revenue_cents", "product_id")[:10]
    )
    return SalesReport(
        days=days,
        by_status=list(recent.values("status").annotate(orders=Count("id")).order_by("-orders", "status")),
        average_order_cents=int(totals["average"] or 0),
        revenue_cents=int(totals["revenue"] or 0),
        paid_orders=totals["orders"],
        top_products=list(top),
    )

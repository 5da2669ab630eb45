"""The reconciler's periodic task reports the oldest PENDING order's age even when its own work
fails, so the PendingOrdersStuck alarm sees a reconciler that raises every run (moto CloudWatch)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cloudcart import aws
from cloudcart.metrics import OLDEST_PENDING_ORDER_AGE
from orders.services import LineRequest, order_place
from orders.tasks import reconcile_pending_orders


def _points(namespace: str) -> float:
    now = datetime.now(UTC)
    answer = aws.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=OLDEST_PENDING_ORDER_AGE,
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount"],
    )
    return sum(point["SampleCount"] for point in answer["Datapoints"])


def test_the_pending_age_is_reported_even_when_the_reconciler_raises(settings, make_product):
    settings.METRICS_NAMESPACE = f"CloudCart-test-{uuid.uuid4().hex[:8]}"
    order_place(lines=[LineRequest(make_product().id, 1)], client_total_cents=None, cart_id=None)
    # A batch DynamoDB refuses (Limit must be at least 1): the republish Query fails every run.
    settings.ORDERS_RECONCILE_BATCH = -1

    with pytest.raises(Exception, match="(?i)limit"):
        reconcile_pending_orders()

    assert _points(settings.METRICS_NAMESPACE) == 1

"""The payments reconciler's periodic task reports the oldest AWAITING_PAYMENT order's age even
when its own run fails, so the AwaitingPaymentStuck alarm sees it (moto CloudWatch)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cloudcart import aws
from cloudcart.metrics import OLDEST_AWAITING_PAYMENT_AGE
from orders.models import Order
from orders.services import LineRequest, order_place
from payments.tasks import reconcile_awaiting_payment


def _points(namespace: str) -> list[dict]:
    now = datetime.now(UTC)
    answer = aws.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=OLDEST_AWAITING_PAYMENT_AGE,
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount", "Maximum"],
    )
    return answer["Datapoints"]


def test_the_awaiting_payment_age_is_reported_even_when_the_reconciler_raises(
    settings, stripe_on, make_product
):
    settings.METRICS_NAMESPACE = f"CloudCart-test-{uuid.uuid4().hex[:8]}"
    placement = order_place(lines=[LineRequest(make_product().id, 1)], client_total_cents=None, cart_id=None)
    order = Order.get(placement.order_id, consistent_read=True)
    assert order.status == Order.AWAITING_PAYMENT
    # A batch DynamoDB refuses (Limit must be at least 1): the reconciler's Query fails.
    settings.PAYMENTS_RECONCILE_BATCH = -1

    with pytest.raises(Exception, match="(?i)limit"):
        reconcile_awaiting_payment()

    (point,) = _points(settings.METRICS_NAMESPACE)
    assert point["SampleCount"] == 1
    # At least as old as our order (older ones of other tests may share the table).
    assert point["Maximum"] >= (datetime.now(UTC) - order.created_at).total_seconds() - 5

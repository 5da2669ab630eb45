"""Custom CloudWatch metrics the periodic tasks put (the alarms in deploy/stacks/monitoring.py)."""

import logging

from django.conf import settings

from cloudcart import aws

logger = logging.getLogger(__name__)

# The metric names the alarms watch: one fact, one place.
BEAT_HEARTBEAT = "BeatHeartbeat"
OLDEST_PENDING_ORDER_AGE = "OldestPendingOrderAgeSeconds"
# The payment reconciler: how long the oldest AWAITING_PAYMENT order has waited.
OLDEST_AWAITING_PAYMENT_AGE = "OldestAwaitingPaymentAgeSeconds"


def metric_put(*, name: str, value: float, unit: str = "None") -> bool:
    """Put one data point in METRICS_NAMESPACE. False (logged) when CloudWatch refuses: a missing
    point is what the alarms watch for, and it must never fail the task that reports it."""
    try:
        aws.client("cloudwatch").put_metric_data(
            Namespace=settings.METRICS_NAMESPACE,
            MetricData=[{"MetricName": name, "Value": float(value), "Unit": unit}],
        )
    except Exception:
        logger.warning("Could not put metric %s", name, exc_info=True)
        return False
    return True

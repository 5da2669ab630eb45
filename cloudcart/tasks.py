"""Periodic tasks of the platform itself (not of an app): the beat heartbeat."""

from celery import shared_task

from cloudcart.metrics import BEAT_HEARTBEAT, metric_put


@shared_task(name="cloudcart.tasks.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Beat publishes this every BEAT_HEARTBEAT_SECONDS and a worker runs it: while the metric keeps
    arriving, beat is alive and its periodic tasks get run; the alarm fires when it stops."""
    metric_put(name=BEAT_HEARTBEAT, value=1, unit="Count")

"""Beat's periodic tasks with real beat and worker processes: they expire instead of piling up
while no worker runs them, and they put the heartbeat and PENDING-age metrics the alarms watch
(moto's CloudWatch over HTTP)."""

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cloudcart import aws
from cloudcart.metrics import BEAT_HEARTBEAT, OLDEST_PENDING_ORDER_AGE
from tests.processes import CeleryProcess


@pytest.mark.slow
def test_periodic_runs_expire_while_no_worker_runs_them_and_report_metrics(moto_server):
    namespace = f"CloudCart-test-{uuid.uuid4().hex[:8]}"
    env = {
        "QUEUE_PREFIX": f"{os.environ['TABLE_PREFIX']}beat-",
        "ORDERS_RECONCILE_INTERVAL_SECONDS": "1",
        "BEAT_HEARTBEAT_SECONDS": "1",
        "METRICS_NAMESPACE": namespace,
    }
    subprocess.run(
        [sys.executable, "manage.py", "bootstrap_aws"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    beat = CeleryProcess("beat", env=env, name="e2e-beat-expiry")
    worker = None
    try:
        # Workers down: beat keeps publishing, a run per second of each task (beat's own log is
        # the only record of what it sent).
        beat.wait_for_count("Sending due task orders-reconcile", 6, timeout=120)
        worker = CeleryProcess("worker", concurrency=1, env=env, name="e2e-beat-expiry-worker")
        # The state asserted below: runs discarded as expired, and fresh runs done. SQS hands the
        # messages out in no set order, so wait for both rather than for the first fresh run.
        for task in ("cloudcart.tasks.beat_heartbeat", "orders.tasks.orders_reconcile"):
            _wait_until(
                lambda task=task: _runs(worker, task) >= 1 and _discarded(worker, task) >= 3, timeout=120
            )
    finally:
        beat.stop()
        if worker:
            worker.stop()

    log = worker.log()
    assert _discarded(worker, "orders.tasks.orders_reconcile") >= 3, log[-3000:]
    assert _discarded(worker, "cloudcart.tasks.beat_heartbeat") >= 3

    cloudwatch = aws.client("cloudwatch")
    now = datetime.now(UTC)
    for name in (BEAT_HEARTBEAT, OLDEST_PENDING_ORDER_AGE):
        points = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=name,
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["SampleCount"],
        )["Datapoints"]
        assert sum(p["SampleCount"] for p in points) >= 1, name


def _runs(worker: CeleryProcess, task: str) -> int:
    return sum(f"{task}[" in line and "succeeded in" in line for line in worker.log().splitlines())


def _discarded(worker: CeleryProcess, task: str) -> int:
    return sum(task in line and "Discarding revoked task" in line for line in worker.log().splitlines())


def _wait_until(condition, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)

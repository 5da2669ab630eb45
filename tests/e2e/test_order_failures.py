"""Failures on the way from checkout to a final order, with real gunicorn, Celery worker and beat
processes: a worker SIGKILLed mid-run, and SQS unreachable when checkout publishes.

These tests start their own workers (none may run while their orders are placed).
"""

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
import requests

from catalog.models import Product
from cloudcart import aws
from orders.models import Order, OrderLine, StatusChange
from orders.services import LineRequest, order_place
from tests.aws_env import free_port
from tests.orders.support import task_order_id, wait_final
from tests.processes import CeleryProcess, Gunicorn

STOCK = 60


def _final_count(order_ids: list[str]) -> int:
    return sum(o.status != Order.PENDING for o in Order.batch_get(order_ids, consistent_read=True))


def _wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} after {timeout} s"
        time.sleep(0.2)


def stock(product) -> int:
    return int(Product.get(product.id, consistent_read=True).stock)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_doubles_nothing(moto_server, catalog_empty, make_product):
    rng = random.Random(5)
    # 120 orders of ~3 units over 4 products of 60: demand exceeds supply on every product.
    products = [make_product(stock=STOCK, price_cents=100 + n) for n in range(4)]
    order_ids = []
    for _ in range(120):
        lines = [LineRequest(p.id, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, 2))]
        order_ids.append(order_place(lines=lines, client_total_cents=None, cart_id=None).order_id)

    first = CeleryProcess("worker", concurrency=2, name="e2e-killed")
    try:
        # Killed once it has finished some orders (its log also counts notification tasks).
        _wait_until(lambda: _final_count(order_ids) >= 25, timeout=180, what="25 orders final")
    finally:
        os.killpg(first.process.pid, signal.SIGKILL)  # the whole worker: main process and pool
        first.process.wait()
    still_pending = sum(Order.get(i, consistent_read=True).status == "PENDING" for i in order_ids)
    assert still_pending > 0, "the worker finished before it was killed: the test proved nothing"

    second = CeleryProcess("worker", concurrency=2, name="e2e-restarted")
    try:
        orders = wait_final(order_ids, timeout=180)
    finally:
        second.stop()

    confirmed_units = Counter()
    for order in orders.values():
        assert [change.status for change in order.history][0] == "PENDING"
        assert len(order.history) == 2, f"{order.order_id} changed status more than once"
        if order.status == "CONFIRMED":
            for line in order.items:
                confirmed_units[line.product_id] += int(line.qty)
    for product in products:
        left = stock(product)
        assert left >= 0
        assert STOCK - left == confirmed_units[product.id], product.id
    assert Counter(o.status for o in orders.values())["REJECTED"] > 0  # demand exceeded supply


def test_an_order_whose_publish_failed_is_published_by_the_reconciler(
    moto_server, make_product, orders_queue
):
    """SQS unreachable at checkout: 202 (the order is stored), then beat's reconciler publishes it."""
    product = make_product(stock=5)
    dead_sqs = f"http://127.0.0.1:{free_port()}"
    web = Gunicorn(free_port(), env={"SQS_ENDPOINT_URL": dead_sqs}, name="sqs-down")
    try:
        started = time.monotonic()
        response = requests.post(
            f"{web.url}/checkout", json={"items": [{"id": product.id, "qty": 2}]}, timeout=60
        )
        assert response.status_code == 202, response.text
        assert time.monotonic() - started < 15
        order_id = response.json()["id"]
        ready = requests.get(f"{web.url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["checks"]["sqs"] == "unavailable"
    finally:
        web.stop()
    assert Order.get(order_id, consistent_read=True).status == "PENDING"
    # Nothing was published for it (other tests' redeliveries may still be in flight on the queue).
    assert order_id not in orders_queue.order_ids()

    env = {"ORDERS_RECONCILE_AFTER_SECONDS": "1", "ORDERS_RECONCILE_INTERVAL_SECONDS": "1"}
    worker = CeleryProcess("worker", concurrency=1, env=env, name="e2e-reconcile-worker")
    beat = CeleryProcess("beat", env=env, name="e2e-beat")
    try:
        order = wait_final([order_id], timeout=120)[order_id]
    finally:
        beat.stop()
        worker.stop()
    assert order.status == "CONFIRMED"
    assert stock(product) == 3


@pytest.mark.slow
def test_a_message_that_keeps_failing_ends_in_the_dlq(moto_server):
    """An order the worker cannot process (here: a line with an empty product id, which DynamoDB
    refuses) is not acked: SQS redelivers it and, after ORDERS_MAX_RECEIVES receives, moves it to
    the DLQ. Its own queue pair with a 2 s visibility timeout keeps this quick."""
    now = datetime.now(UTC)
    poison = Order(
        order_id="e" * 32,
        status="PENDING",
        items=[OrderLine(product_id="", name="broken", unit_price_cents=1, qty=1)],
        total_cents=1,
        currency="USD",
        created_at=now,
        history=[StatusChange(status="PENDING", at=now)],
    )
    poison.save()
    env = {
        "QUEUE_PREFIX": f"{os.environ['TABLE_PREFIX']}poison-",
        "ORDERS_VISIBILITY_TIMEOUT": "2",
        "ORDER_TASK_TIME_LIMIT": "1",
    }
    run_env = {**os.environ, **env}
    subprocess.run(
        [sys.executable, "manage.py", "bootstrap_aws"], env=run_env, check=True, capture_output=True
    )
    publish = f"from orders.tasks import process_order; process_order.delay({poison.order_id!r})"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", publish], env=run_env, check=True, capture_output=True
    )

    sqs = aws.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName=f"{env['QUEUE_PREFIX']}orders-dlq")["QueueUrl"]
    worker = CeleryProcess("worker", concurrency=1, env=env, name="e2e-poison-worker")
    try:
        deadline = time.monotonic() + 90
        moved = []
        while not moved and time.monotonic() < deadline:
            moved = sqs.receive_message(
                QueueUrl=dlq_url, MessageSystemAttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=1
            ).get("Messages", [])
    finally:
        worker.stop()
    assert moved, "the failing message never reached the DLQ"
    assert task_order_id(moved[0]["Body"]) == poison.order_id
    # Received and failed exactly ORDERS_MAX_RECEIVES times, then never again.
    assert worker.log().count("] received") == 5, worker.log()[-2000:]
    assert worker.log().count("raised unexpected: TransactWriteError") == 5
    assert Order.get(poison.order_id, consistent_read=True).status == "PENDING"  # the reconciler's job


@pytest.mark.slow
def test_a_poison_order_fails_after_its_publishes_and_is_never_republished(moto_server):
    """Real worker and beat on their own queue pair: an order whose message fails every time is
    published ORDERS_MAX_PUBLISHES times (checkout's + the reconciler's), then FAILED, logged once
    as final; the reconciler leaves it alone from then on and the DLQ holds at most that many
    copies."""
    max_publishes = 3
    now = datetime.now(UTC)
    poison = Order(
        order_id=uuid.uuid4().hex,
        status="PENDING",
        # An empty product id: DynamoDB refuses the transaction every time (not a transient error).
        items=[OrderLine(product_id="", name="broken", unit_price_cents=1, qty=1)],
        total_cents=1,
        currency="USD",
        created_at=now,
        history=[StatusChange(status="PENDING", at=now)],
        publishes=1,  # as checkout stores it: its own publish is the first
    )
    poison.save()
    env = {
        "QUEUE_PREFIX": f"{os.environ['TABLE_PREFIX']}poison2-",
        "ORDERS_VISIBILITY_TIMEOUT": "2",
        "ORDER_TASK_TIME_LIMIT": "1",
        "ORDERS_RECONCILE_AFTER_SECONDS": "1",
        "ORDERS_RECONCILE_INTERVAL_SECONDS": "1",
        "ORDERS_MAX_PUBLISHES": str(max_publishes),
    }
    run_env = {**os.environ, **env}
    subprocess.run(
        [sys.executable, "manage.py", "bootstrap_aws"], env=run_env, check=True, capture_output=True
    )
    publish = f"from orders.tasks import process_order; process_order.delay({poison.order_id!r})"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", publish], env=run_env, check=True, capture_output=True
    )
    sqs = aws.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=f"{env['QUEUE_PREFIX']}orders")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=f"{env['QUEUE_PREFIX']}orders-dlq")["QueueUrl"]

    worker = CeleryProcess("worker", concurrency=1, env=env, name="e2e-poison-fail-worker")
    beat = CeleryProcess("beat", env=env, name="e2e-poison-fail-beat")
    try:
        failed = wait_final([poison.order_id], timeout=120)[poison.order_id]
        assert (failed.status, failed.reason) == ("FAILED", "processing_failed")
        assert failed.publishes == max_publishes
        # The reconciler keeps running and leaves the order alone.
        runs = _reconcile_runs(worker)
        _wait_until(lambda: _reconcile_runs(worker) >= runs + 3, timeout=120, what="3 more reconciler runs")
        assert Order.get(poison.order_id, consistent_read=True).publishes == max_publishes
        # Copies still cycling are acked as "already FAILED"; none of them is redelivered for ever.
        _wait_until(lambda: _queue_depth(sqs, queue_url) == 0, timeout=120, what="the queue drained")
    finally:
        beat.stop()
        worker.stop()
    # (The reconciler also republishes other tests' leftover PENDING orders: count this one's.)
    dead = [m for m in _take_all(sqs, dlq_url) if task_order_id(m["Body"]) == poison.order_id]
    assert len(dead) <= max_publishes
    finals = [
        line for line in worker.log().splitlines() if '"order_final"' in line and poison.order_id in line
    ]
    assert len(finals) == 1, "logged as final exactly once"
    assert '"FAILED"' in finals[0]


def _reconcile_runs(worker: CeleryProcess) -> int:
    lines = worker.log().splitlines()
    return sum("orders.tasks.orders_reconcile[" in line and "succeeded in" in line for line in lines)


def _queue_depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return sum(
        int(attributes[name])
        for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    )


def _take_all(sqs, url: str) -> list[dict]:
    taken = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        taken += messages
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return taken

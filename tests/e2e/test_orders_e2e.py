"""Checkout to final order through real processes: gunicorn, Celery workers (the threads pool) and beat, moto.

Nothing runs eagerly: orders travel as SQS messages from gunicorn to `celery -A cloudcart worker`
processes. The session's queue has a 10 s visibility timeout (tests/aws_env.py), so a killed
worker's messages come back in seconds.
"""

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from catalog.models import Product
from orders.models import Order
from orders.tasks import process_order
from tests.orders.support import wait_final
from tests.processes import CeleryProcess


@pytest.fixture(scope="module")
def worker(moto_server):
    process = CeleryProcess("worker", concurrency=2, name="e2e-worker")
    yield process
    process.stop()


def stock(product) -> int:
    return int(Product.get(product.id, consistent_read=True).stock)


def final_log_lines(log: str, order_id: str) -> list[dict]:
    lines = []
    for line in log.splitlines():
        if '"order_final"' in line and order_id in line:
            lines.append(json.loads(line[line.index("{") :]))
    return lines


def test_forty_buyers_of_the_last_ten_units(web, worker, make_product):
    product = make_product(stock=10, price_cents=500)

    def buy(_):
        return requests.post(
            f"{web.url}/checkout", json={"items": [{"id": product.id, "qty": 1}]}, timeout=60
        )

    with ThreadPoolExecutor(max_workers=40) as pool:
        responses = list(pool.map(buy, range(40)))

    accepted = [r.json()["id"] for r in responses if r.status_code == 202]
    refused = [r.json() for r in responses if r.status_code != 202]
    assert all(body["code"] == "out_of_stock" for body in refused), refused
    orders = wait_final(accepted, timeout=90)

    statuses = Counter(order.status for order in orders.values())
    assert statuses["CONFIRMED"] == 10, statuses
    assert all(order.reason == "out_of_stock" for order in orders.values() if order.status == "REJECTED")
    assert stock(product) == 0


def test_one_order_delivered_three_times_takes_stock_once(web, worker, make_product, orders_queue):
    product = make_product(stock=10)
    order_id = requests.post(
        f"{web.url}/checkout", json={"items": [{"id": product.id, "qty": 3}]}, timeout=30
    ).json()["id"]
    # Two more deliveries of the same message, as SQS's at-least-once delivery may make.
    process_order.apply_async(args=[order_id])
    process_order.apply_async(args=[order_id])

    wait_final([order_id], timeout=120)
    orders_queue.wait_empty(timeout=120)

    assert stock(product) == 7
    order = Order.get(order_id, consistent_read=True)
    assert [change.status for change in order.history] == ["PENDING", "CONFIRMED"]
    assert len(final_log_lines(worker.log(), order_id)) == 1


def test_a_message_for_an_unknown_order_is_dropped_not_looped(worker, orders_queue):
    unknown = "f" * 32
    process_order.apply_async(args=[unknown])

    worker.wait_for(f"unknown order {unknown}", timeout=120)
    orders_queue.wait_empty(timeout=120)
    assert orders_queue.depth(orders_queue.dlq_url) == 0

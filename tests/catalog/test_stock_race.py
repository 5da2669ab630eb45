"""Staff stock changes racing real order processing: both over HTTP to gunicorn (staff with a real
Cognito token), orders processed by a Celery worker process over SQS.

Both write the same `stock` attribute: the worker with `ADD -qty IF stock >= qty` inside its
transaction, staff with `ADD delta IF stock >= -delta`. Neither reads first, so the final stock
must be exactly the start, plus every staff change that was applied, minus every confirmed unit.
"""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from catalog.models import Product
from orders.models import Order
from tests.orders.support import wait_final
from tests.processes import CeleryProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker(moto_server):
    process = CeleryProcess("worker", concurrency=2, name="stock-race-worker")
    yield process
    process.stop()


def test_staff_stock_changes_and_orders_add_up_exactly(web, worker, make_product, staff_token):
    start = 20
    product = make_product(stock=start, price_cents=300)
    # +3 and -2 in a shuffled order: some -2 may find the stock too low, and must then change nothing.
    staff_deltas = [3] * 15 + [-2] * 15
    random.Random(7).shuffle(staff_deltas)

    def buy(_):
        response = requests.post(
            f"{web.url}/checkout", json={"items": [{"id": product.id, "qty": 2}]}, timeout=60
        )
        assert response.status_code in (202, 409), response.text
        return response.json()["id"] if response.status_code == 202 else None

    def staff(delta):
        response = requests.post(
            f"{web.url}/products/{product.id}/stock",
            json={"delta": delta},
            headers={"Authorization": f"Bearer {staff_token}"},
            timeout=60,
        )
        if response.status_code == 409:
            assert response.json()["code"] == "stock_below_zero"
            return 0
        assert response.status_code == 200, response.text
        return delta

    with ThreadPoolExecutor(max_workers=12) as pool:
        orders = [pool.submit(buy, n) for n in range(30)]
        changes = [pool.submit(staff, delta) for delta in staff_deltas]
        accepted = [f.result() for f in orders if f.result()]
        applied = sum(f.result() for f in changes)

    final = wait_final(accepted, timeout=120)
    confirmed_units = sum(
        int(line.qty) for order in final.values() if order.status == Order.CONFIRMED for line in order.items
    )
    assert accepted, "no checkout was accepted: the race did not happen"
    stock = int(Product.get(product.id, consistent_read=True).stock)
    assert stock >= 0
    assert stock == start + applied - confirmed_units, (stock, start, applied, confirmed_units)

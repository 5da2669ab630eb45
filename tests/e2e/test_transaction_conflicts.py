"""Two writes on one item at once, as real DynamoDB answers them: the retry paths work.

DynamoDB cancels a transaction that touches an item another transaction is working on (reason
`TransactionConflict`) and refuses a single write to such an item (`TransactionConflictException`).
Neither local server ever does (see tests/dynamodb_conflicts.py), so these tests put
`ConflictingDynamoDB` between real app processes and DynamoDB Local: it holds a transaction in
flight until something collides with it, and answers the collision as DynamoDB would. The collisions are
made by the app's own concurrent requests and tasks, never by calling our code with a fake.
"""

import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from catalog.models import Product
from orders.models import Order, OrderLine, StatusChange
from tests.aws_env import free_port
from tests.dynamodb_conflicts import ConflictingDynamoDB
from tests.orders.support import wait_final
from tests.processes import ROOT, CeleryProcess, Gunicorn

pytestmark = pytest.mark.slow


def _through(proxy: ConflictingDynamoDB, **env) -> dict:
    """Environment for a process whose DynamoDB is the proxy; its own queues (no other worker
    takes its messages, and its messages reach no other test's worker)."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,
        "QUEUE_PREFIX": f"{os.environ['TABLE_PREFIX']}conflicts-{uuid.uuid4().hex[:6]}-",
        **env,
    }


def _manage(*args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


def _pending_order(product: Product, *, qty: int) -> Order:
    """An order as checkout stores it (PENDING, its publish counted), for the worker to process."""
    now = datetime.now(UTC)
    order = Order(
        order_id=uuid.uuid4().hex,
        status=Order.PENDING,
        items=[OrderLine(product_id=product.id, name=product.name, unit_price_cents=100, qty=qty)],
        total_cents=100 * qty,
        currency="USD",
        created_at=now,
        history=[StatusChange(status=Order.PENDING, at=now)],
        publishes=1,
        republish_at=now + timedelta(hours=1),
    )
    order.save()
    return order


def test_two_workers_confirming_orders_of_one_product_at_once_retry_the_conflict(make_product):
    """Two worker processes each run `process_order` for an order of the same product: both
    transactions decrement that product's stock at once, DynamoDB cancels one with
    TransactionConflict, the task retries (OrderRetryLater, Celery backoff) and both orders end
    CONFIRMED with the stock exact."""
    product = make_product(stock=10)
    orders = [_pending_order(product, qty=3), _pending_order(product, qty=4)]
    with ConflictingDynamoDB(Product.Meta.host) as proxy:
        env = _through(proxy)
        _manage("bootstrap_aws", env=env)
        publish = "from orders.tasks import process_order\n" + "".join(
            f"process_order.delay({order.order_id!r})\n" for order in orders
        )
        _manage("shell", "-c", publish, env=env)  # both messages wait before the worker starts
        worker = CeleryProcess("worker", concurrency=2, env=env, name="conflicts-worker")
        try:
            final = wait_final([order.order_id for order in orders], timeout=90)
        finally:
            worker.stop()

    assert {order.status for order in final.values()} == {Order.CONFIRMED}
    assert int(Product.get(product.id, consistent_read=True).stock) == 10 - 3 - 4
    assert proxy.count("TransactWriteItems", "TransactionConflict") >= 1, proxy.events
    assert "OrderRetryLater" in worker.log()
    # Applied once each, however many attempts: one committed transaction per order.
    assert proxy.count("TransactWriteItems", "forwarded") == 2


@pytest.fixture
def web_through_conflicts():
    with ConflictingDynamoDB(Product.Meta.host) as proxy:
        env = _through(proxy)
        _manage("bootstrap_aws", env=env)
        web = Gunicorn(free_port(), env=env, name="conflicts-web")
        try:
            yield proxy, web
        finally:
            web.stop()


def _cart_with_a_line(web: Gunicorn, product: Product) -> dict:
    cart = {"X-Cart-Id": uuid.uuid4().hex}
    added = requests.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, headers=cart, timeout=30)
    assert added.status_code == 200, added.text
    return cart


def _in_thread(target) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(response=target()))
    thread.start()
    return thread, result


def test_two_checkouts_of_one_cart_at_once_make_one_order(web_through_conflicts, make_product):
    """Both checkouts' transactions condition on the one cart item: the second is cancelled with
    TransactionConflict, backs off and retries, then sees the cart checked out. One order; the
    other client gets that order (202) or a 409 naming it."""
    proxy, web = web_through_conflicts
    cart = _cart_with_a_line(web, make_product(stock=5))

    def checkout():
        return requests.post(f"{web.url}/checkout", json={}, headers=cart, timeout=60)

    threads = [_in_thread(checkout)]
    proxy.wait_in_flight(timeout=30)  # the first checkout's transaction holds the cart item
    threads.append(_in_thread(checkout))
    for thread, _ in threads:
        thread.join(timeout=90)
    responses = [result["response"] for _, result in threads]

    statuses = sorted(response.status_code for response in responses)
    assert statuses in ([202, 202], [202, 409]), [r.text for r in responses]
    placed = {r.json()["id"] for r in responses if r.status_code == 202}
    assert len(placed) == 1
    (order_id,) = placed
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "cart_checked_out"
            assert order_id in response.text
    assert proxy.count("TransactWriteItems", "TransactionConflict") >= 1, proxy.events
    Order(order_id=order_id).delete()  # never processed here: keep it from other tests' reconcilers


def test_a_cart_write_during_its_checkout_transaction_waits_and_lands_after_it(
    web_through_conflicts, make_product
):
    """POST /cart while the checkout's transaction holds the cart item: DynamoDB refuses the
    UpdateItem with TransactionConflictException. The write backs off and tries again (bounded in
    time, then 503), so it lands after the checkout: the order holds what the cart held when it
    was checked out, and the new line stays in the cart."""
    proxy, web = web_through_conflicts
    product, other = make_product(stock=5), make_product(stock=5)
    cart = _cart_with_a_line(web, product)

    checkout_thread, checkout = _in_thread(
        lambda: requests.post(f"{web.url}/checkout", json={}, headers=cart, timeout=60)
    )
    proxy.wait_in_flight(timeout=30)  # the checkout's transaction holds the cart item now
    added = requests.post(f"{web.url}/cart", json={"id": other.id, "qty": 1}, headers=cart, timeout=30)
    checkout_thread.join(timeout=90)

    assert proxy.count("UpdateItem", "TransactionConflictException") >= 1, proxy.events
    assert added.status_code == 200, added.text
    assert checkout["response"].status_code == 202, checkout["response"].text
    assert [line["id"] for line in checkout["response"].json()["items"]] == [product.id]
    in_cart = requests.get(f"{web.url}/cart", headers=cart, timeout=30).json()["items"]
    assert [(line["id"], line["qty"]) for line in in_cart] == [(other.id, 1)]
    Order(order_id=checkout["response"].json()["id"]).delete()

"""One cart, one order: however many checkouts of one cart arrive, at once or in turn, one order.

Real processes: gunicorn (4 workers) answers the checkouts, a Celery worker takes the stock.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cart.selectors import cart_lines_get
from catalog.models import Product
from orders.models import Order
from tests.aws_env import free_port
from tests.orders.support import wait_final
from tests.processes import CeleryProcess, Gunicorn


@pytest.fixture(scope="module")
def worker(moto_server):
    process = CeleryProcess("worker", concurrency=2, name="cart-once-worker")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def web4(moto_server):
    server = Gunicorn(free_port(), env={"WEB_CONCURRENCY": "4"}, name="cart-once-web")
    yield server
    server.stop()


def _orders_of_cart(cart_id: str) -> list[Order]:
    return list(Order.scan(Order.cart_id == cart_id, consistent_read=True))


def _cart_with(url: str, lines: dict[str, int]) -> str:
    cart_id = uuid.uuid4().hex
    for product_id, qty in lines.items():
        response = requests.post(
            f"{url}/cart", json={"id": product_id, "qty": qty}, headers={"X-Cart-Id": cart_id}, timeout=30
        )
        assert response.status_code == 200, response.text
    return cart_id


@pytest.mark.parametrize("keys", ["no key", "one key", "a key each"])
def test_twenty_concurrent_checkouts_of_one_cart_make_one_order(web4, worker, make_product, keys):
    phone, case = make_product(stock=50, price_cents=1000), make_product(stock=50, price_cents=250)
    cart_id = _cart_with(web4.url, {phone.id: 2, case.id: 3})
    shared_key = str(uuid.uuid4())

    def checkout(n):
        headers = {"X-Cart-Id": cart_id}
        if keys == "one key":
            headers["Idempotency-Key"] = shared_key
        elif keys == "a key each":
            headers["Idempotency-Key"] = f"{shared_key}-{n}"
        return requests.post(f"{web4.url}/checkout", json={}, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(checkout, range(20)))

    orders = _orders_of_cart(cart_id)
    assert len(orders) == 1, [r.text for r in responses]
    order_id = orders[0].order_id
    assert {r.status_code for r in responses} <= {202, 409}, [r.text for r in responses]
    accepted = [r for r in responses if r.status_code == 202]
    refused = [r for r in responses if r.status_code == 409]
    assert {r.json()["id"] for r in accepted} == {order_id}
    # One answer is the original; every other one points at the same order.
    assert sum("Idempotent-Replayed" not in r.headers for r in accepted) == 1
    for response in refused:
        body = response.json()
        assert body["code"] == "cart_checked_out", body
        assert body["order_id"] == order_id
        assert response.headers["Location"] == f"/orders/{order_id}"
    if keys == "one key":
        assert len(accepted) == 20  # the same key replays the first answer
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in accepted) == 19
    else:
        assert len(accepted) == 1
    assert cart_lines_get(cart_id=cart_id) == {}

    wait_final([order_id], timeout=120)
    assert int(Product.get(phone.id, consistent_read=True).stock) == 48
    assert int(Product.get(case.id, consistent_read=True).stock) == 47


def test_a_checked_out_cart_checked_out_again_is_409_with_the_order(web4, make_product):
    product = make_product(stock=10)
    cart_id = _cart_with(web4.url, {product.id: 1})
    first = requests.post(f"{web4.url}/checkout", json={}, headers={"X-Cart-Id": cart_id}, timeout=30)
    assert first.status_code == 202, first.text

    again = requests.post(f"{web4.url}/checkout", json={}, headers={"X-Cart-Id": cart_id}, timeout=30)

    assert again.status_code == 409, again.text
    assert again.json()["code"] == "cart_checked_out"
    assert again.json()["order_id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert len(_orders_of_cart(cart_id)) == 1
    # A cart filled again after its checkout is a new cart's worth: it checks out again.
    _cart_with_more = requests.post(
        f"{web4.url}/cart", json={"id": product.id, "qty": 2}, headers={"X-Cart-Id": cart_id}, timeout=30
    )
    assert _cart_with_more.status_code == 200
    third = requests.post(f"{web4.url}/checkout", json={}, headers={"X-Cart-Id": cart_id}, timeout=30)
    assert third.status_code == 202, third.text
    assert third.json()["id"] != first.json()["id"]
    assert [line["qty"] for line in third.json()["items"]] == [2]


def test_lines_added_while_a_checkout_runs_are_never_lost(web4, make_product):
    """Adds race checkouts of the same cart: every unit added is in exactly one order or still in
    the cart; the checkout empties only what it ordered."""
    products = [make_product(stock=500) for _ in range(6)]
    cart_id = _cart_with(web4.url, {products[0].id: 1})

    def add(product):
        return requests.post(
            f"{web4.url}/cart", json={"id": product.id, "qty": 1}, headers={"X-Cart-Id": cart_id}, timeout=60
        )

    def checkout(_):
        return requests.post(f"{web4.url}/checkout", json={}, headers={"X-Cart-Id": cart_id}, timeout=60)

    jobs = [(add, products[n % 6]) for n in range(24)] + [(checkout, None) for _ in range(8)]
    jobs = [jobs[n] for n in sorted(range(len(jobs)), key=lambda n: (n * 7) % len(jobs))]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda job: job[0](job[1]), jobs))

    added_ok = sum(1 for (fn, _), r in zip(jobs, results, strict=True) if fn is add and r.status_code == 200)
    for (fn, _), response in zip(jobs, results, strict=True):
        if fn is checkout:
            assert response.status_code in (202, 409, 400), response.text
    ordered = sum(int(line.qty) for order in _orders_of_cart(cart_id) for line in order.items)
    in_cart = sum(cart_lines_get(cart_id=cart_id).values())
    assert ordered + in_cart == 1 + added_ok

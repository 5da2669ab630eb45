"""Write throttles: a 429 with Retry-After past the rate, per client (cart), shared by all workers."""

import time
import uuid

import pytest
import requests
from rest_framework.test import APIClient

from tests.aws_env import free_port
from tests.processes import Gunicorn


def _wait_unless_window_has(seconds: float, window: int) -> None:
    """Fixed windows: do not start a count right before one ends (the count would reset mid-test)."""
    left = window - time.time() % window
    if left < seconds:
        time.sleep(left + 0.1)


def test_cart_writes_past_the_rate_get_429_with_retry_after(api, settings, make_product):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "cart_write": "3/hour"}
    product = make_product(stock=50)
    _wait_unless_window_has(30, 3600)

    statuses = [api.post("/cart", {"id": product.id, "qty": 1}, format="json").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    throttled = api.post("/cart", {"id": product.id, "qty": 1}, format="json")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 3601
    # The refused write changed nothing; reads are not throttled.
    assert api.get("/cart").json()["items"][0]["qty"] == 3

    # Another client (its own cart) has its own budget.
    assert APIClient().post("/cart", {"id": product.id, "qty": 1}, format="json").status_code == 200


@pytest.mark.slow
def test_throttle_is_shared_by_all_gunicorn_workers(make_product):
    """4 workers, fresh connections: exactly the rate passes, whichever worker answers."""
    product = make_product(stock=50)
    server = Gunicorn(
        free_port(),
        env={"THROTTLE_CART_WRITE_RATE": "5/hour", "WEB_CONCURRENCY": "4"},
        name="throttle",
    )
    try:
        _wait_unless_window_has(30, 3600)
        cart_id = uuid.uuid4().hex
        statuses = []
        for _ in range(10):
            response = requests.post(
                f"{server.url}/cart",
                json={"id": product.id, "qty": 1},
                headers={"X-Cart-Id": cart_id, "Connection": "close"},
                timeout=10,
            )
            statuses.append(response.status_code)
        assert statuses.count(200) == 5, statuses
        assert statuses[5:] == [429] * 5
        assert int(response.headers["Retry-After"]) >= 1
    finally:
        server.stop()


def test_checkouts_past_the_rate_get_429_and_store_nothing(api, settings, make_product):
    """The checkout count rides in the order's own transaction: a refused one stores no order."""
    from orders.models import Order

    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "checkout": "2/hour"}
    product = make_product(stock=50)
    cart_id = uuid.uuid4().hex
    body = {"items": [{"id": product.id, "qty": 1}]}
    _wait_unless_window_has(30, 3600)

    statuses = [
        api.post("/checkout", body, format="json", HTTP_X_CART_ID=cart_id).status_code for _ in range(3)
    ]

    assert statuses == [202, 202, 429]
    assert len(list(Order.scan(Order.cart_id == cart_id, consistent_read=True))) == 2
    # The cart's own writes have their own budget, and another client has its own.
    assert (
        api.post("/cart", {"id": product.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id).status_code
        == 200
    )
    other = api.post("/checkout", body, format="json", HTTP_X_CART_ID=uuid.uuid4().hex)
    assert other.status_code == 202


def test_checkouts_without_client_identity_are_limited_per_address(settings, make_product):
    """No cart id, cookie or token (a new client each time): counted per address instead."""
    from orders.models import Order

    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "guest_checkout": "2/hour"}
    product = make_product(stock=50)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    body = {"items": [{"id": product.id, "qty": 1}], "email": "someone@example.com"}
    _wait_unless_window_has(30, 3600)

    answers = [APIClient(REMOTE_ADDR=address).post("/checkout", body, format="json") for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["code"] == "throttled" and int(answers[2]["Retry-After"]) >= 1
    orders = list(Order.scan(Order.email == "someone@example.com", consistent_read=True))
    assert {o.order_id for o in orders if o.items[0].product_id == product.id} == {
        a.json()["id"] for a in answers[:2]
    }
    # Another address has its own count; a client with its own identity is counted on it.
    assert APIClient(REMOTE_ADDR="192.0.2.99").post("/checkout", body, format="json").status_code == 202
    assert (
        APIClient(REMOTE_ADDR=address)
        .post("/checkout", body, format="json", HTTP_X_CART_ID=uuid.uuid4().hex)
        .status_code
        == 202
    )

"""Write throttles: a 429 with Retry-After past the rate, per client (cart), shared by all workers."""

import time
import uuid

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

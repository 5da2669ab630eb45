"""Write throttles: a 429 with Retry-After past the rate, per client, shared by all gunicorn workers."""

import time
import uuid

import requests

from tests.aws_env import free_port
from tests.processes import Gunicorn


def _address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"


def _wait_unless_window_has(seconds: float, window: int) -> None:
    """Fixed windows: do not start a count right before one ends (the count would reset mid-test)."""
    left = window - time.time() % window
    if left < seconds:
        time.sleep(left + 0.1)


def test_cart_writes_past_the_rate_get_429_with_retry_after(api, settings, make_product):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "cart_write": "3/hour"}
    product = make_product(stock=50)
    client, other = _address(), _address()
    _wait_unless_window_has(30, 3600)

    statuses = [
        api.post("/cart", {"id": product.id, "qty": 1}, format="json", REMOTE_ADDR=client).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    throttled = api.post("/cart", {"id": product.id, "qty": 1}, format="json", REMOTE_ADDR=client)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 3601

    # Reads are not throttled, and another client has its own budget.
    assert api.get("/cart", REMOTE_ADDR=client).status_code == 200
    assert (
        api.post("/cart", {"id": product.id, "qty": 1}, format="json", REMOTE_ADDR=other).status_code == 200
    )


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
        statuses = []
        for _ in range(10):
            response = requests.post(
                f"{server.url}/cart",
                json={"id": product.id, "qty": 1},
                headers={"X-Cart-Id": "c" * 32, "Connection": "close"},
                timeout=10,
            )
            statuses.append(response.status_code)
        assert statuses.count(200) == 5, statuses
        assert statuses[5:] == [429] * 5
        assert int(response.headers["Retry-After"]) >= 1
    finally:
        server.stop()

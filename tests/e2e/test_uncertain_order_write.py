"""An order write whose answer never arrives in time: the order landed, the client must learn so.

Between gunicorn and DynamoDB sits a proxy that forwards every request but holds back the answer
to order writes past the app's read timeout (1 s). The write is applied; the app cannot know.
"""

import time
import uuid

import pytest
import requests
from django.conf import settings

from orders.models import Order
from tests.aws_env import free_port
from tests.processes import Gunicorn
from tests.slow_proxy import SlowAnswerProxy

READ_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def slow_web(moto_server):
    """gunicorn whose DynamoDB answers to writes of orders come back 2.5 s late."""
    upstream = settings.DYNAMODB_ENDPOINT_URL
    with SlowAnswerProxy(upstream, slow_operations={"TransactWriteItems", "PutItem"}, delay=2.5) as proxy:
        server = Gunicorn(
            free_port(),
            env={
                "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,
                "AWS_READ_TIMEOUT": str(READ_TIMEOUT),
                "AWS_MAX_RETRIES": "1",
            },
            name="slow-web",
        )
        try:
            yield server, proxy
        finally:
            server.stop()


def _orders_of_cart(cart_id: str) -> list[Order]:
    return list(Order.scan(Order.cart_id == cart_id, consistent_read=True))


def _checkout(url: str, cart_id: str, body: dict, key: str | None = None) -> requests.Response:
    headers = {"X-Cart-Id": cart_id}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{url}/checkout", json=body, headers=headers, timeout=60)


def test_a_cart_checkout_whose_write_times_out_answers_202_and_the_retry_gets_the_same_order(
    slow_web, make_product
):
    server, proxy = slow_web
    product = make_product(stock=10)
    cart_id = uuid.uuid4().hex
    added = requests.post(
        f"{server.url}/cart", json={"id": product.id, "qty": 2}, headers={"X-Cart-Id": cart_id}, timeout=30
    )
    assert added.status_code == 200, added.text
    delayed_before = len(proxy.delayed)

    started = time.monotonic()
    first = _checkout(server.url, cart_id, {})
    took = time.monotonic() - started

    assert len(proxy.delayed) > delayed_before  # the fault did happen
    assert first.status_code == 202, first.text
    assert took < settings.CHECKOUT_DEADLINE_SECONDS + 5
    orders = _orders_of_cart(cart_id)
    assert [order.order_id for order in orders] == [first.json()["id"]]
    # The client, unsure, retries: it is told about the same order, and no second one is made.
    again = _checkout(server.url, cart_id, {})
    assert again.status_code in (202, 409), again.text
    assert (again.json().get("order_id") or again.json().get("id")) == first.json()["id"]
    assert len(_orders_of_cart(cart_id)) == 1


def test_an_items_checkout_with_a_key_whose_write_times_out_is_one_order(slow_web, make_product):
    server, _proxy = slow_web
    product = make_product(stock=10)
    cart_id = uuid.uuid4().hex
    body = {"items": [{"id": product.id, "qty": 1}]}
    key = str(uuid.uuid4())

    first = _checkout(server.url, cart_id, body, key)
    again = _checkout(server.url, cart_id, body, key)

    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(_orders_of_cart(cart_id)) == 1

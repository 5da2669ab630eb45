"""Round-trip budgets of the write paths: a regression that adds a DynamoDB call fails here.

Counted by the per-request AWS call counter (cloudcart/aws.py), which answers each request's
calls in `X-AWS-Calls`. The write throttles are on (tests/aws_env.py sets high rates, not none):
counting a client's writes costs no call of its own.
"""

import uuid

import pytest
from django.conf import settings


def aws_calls(response) -> dict[str, int]:
    """`X-AWS-Calls: dynamodb=3, sqs=1` as {"dynamodb": 3, "sqs": 1}."""
    value = response["X-AWS-Calls"]
    if value == "none":
        return {}
    return {name: int(count) for name, count in (part.split("=") for part in value.split(", "))}


@pytest.fixture
def catalog_cache_on(settings):
    """Cart answers price from the catalog's bounded-stale cache, as in production (the tests'
    default turns it off); an empty cache to start with."""
    settings.CATALOG_CACHE_SECONDS = 5


@pytest.fixture
def cart(api, make_product):
    """A client whose cart already holds two lines."""
    cart_id = uuid.uuid4().hex
    products = [make_product(stock=50) for _ in range(2)]
    for product in products:
        api.post("/cart", {"id": product.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)
    return cart_id, products


@pytest.fixture
def warm(api, make_product):
    """One checkout first: kombu looks each queue up once per process (GetQueueAttributes)."""
    api.post("/checkout", {"items": [{"id": make_product().id, "qty": 1}]}, format="json")


def test_throttles_are_on_in_these_tests():
    assert settings.THROTTLE_RATES["cart_write"] and settings.THROTTLE_RATES["checkout"]


def test_adding_to_an_existing_line_is_one_dynamodb_call(api, catalog_cache_on, cart):
    cart_id, products = cart
    response = api.post("/cart", {"id": products[0].id, "qty": 2}, format="json", HTTP_X_CART_ID=cart_id)
    assert response.status_code == 200
    assert {item["id"]: item["qty"] for item in response.json()["items"]}[products[0].id] == 3
    assert aws_calls(response) == {"dynamodb": 1}


def test_adding_a_new_line_of_a_product_priced_before_is_one_dynamodb_call(
    api, catalog_cache_on, cart, make_product
):
    cart_id, _products = cart
    newcomer = make_product(price_cents=250)
    api.post("/cart", {"id": newcomer.id, "qty": 1}, format="json", HTTP_X_CART_ID=uuid.uuid4().hex)
    response = api.post("/cart", {"id": newcomer.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 3
    assert {item["id"]: item["unit_price"] for item in response.json()["items"]}[newcomer.id] == "2.50"
    assert aws_calls(response) == {"dynamodb": 1}


def test_adding_a_product_this_process_has_not_priced_reads_it_once(
    api, catalog_cache_on, cart, make_product
):
    cart_id, _products = cart
    newcomer = make_product()
    response = api.post("/cart", {"id": newcomer.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)
    assert response.status_code == 200
    assert aws_calls(response) == {"dynamodb": 2}  # the product's read, the cart's UpdateItem


def test_without_the_catalog_cache_an_add_is_at_most_three_dynamodb_calls(api, cart):
    cart_id, products = cart
    response = api.post("/cart", {"id": products[0].id, "qty": 2}, format="json", HTTP_X_CART_ID=cart_id)
    assert response.status_code == 200
    assert aws_calls(response)["dynamodb"] <= 3


def test_checkout_of_a_list_of_items_is_at_most_four_dynamodb_calls_and_one_send(
    api, cart, warm, orders_queue
):
    cart_id, products = cart
    body = {"items": [{"id": p.id, "qty": 1} for p in products]}
    response = api.post(
        "/checkout", body, format="json", HTTP_X_CART_ID=cart_id, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code == 202, response.json()
    calls = aws_calls(response)
    assert calls["dynamodb"] <= 4, calls
    assert orders_queue.order_ids() == [response.json()["id"]]
    # The order's message, and its "placed" event on the notifications queue.
    assert calls["sqs"] <= 2, calls


def test_checkout_of_the_cart_is_at_most_four_dynamodb_calls(api, cart, warm, orders_queue):
    cart_id, _products = cart
    response = api.post("/checkout", {}, format="json", HTTP_X_CART_ID=cart_id)
    assert response.status_code == 202, response.json()
    calls = aws_calls(response)
    assert calls["dynamodb"] <= 4, calls
    assert calls["sqs"] <= 2, calls

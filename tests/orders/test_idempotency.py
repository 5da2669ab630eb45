"""Idempotency-Key on POST /checkout: replay, misuse, scoping, expiry, and 20 requests at once."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from rest_framework.test import APIClient

from cart.identity import CART_COOKIE_NAME, CART_HEADER_NAME
from orders.models import IdempotencyKey, Order
from orders.services import idempotency_scoped_key
from tests.orders.support import order_count


@pytest.fixture
def item(make_product):
    return make_product(price_cents=2500, stock=1000)


def checkout(api, body, key, **headers):
    return api.post("/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_same_key_and_body_replays_the_first_answer(api, item, orders_queue):
    key = str(uuid.uuid4())
    body = {"items": [{"id": item.id, "qty": 2}], "total": "50.00"}
    first = checkout(api, body, key)
    assert first.status_code == 202
    assert "Idempotent-Replayed" not in first

    before = order_count()
    again = checkout(api, body, key)
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert order_count() == before
    # The total may come as a JSON number too: the same request.
    same = checkout(api, {"items": [{"id": item.id, "qty": 2}], "total": 50}, key)
    assert same.json()["id"] == first.json()["id"]
    # A replay of a still-PENDING order publishes it again (the first publish may have been lost).
    assert orders_queue.order_ids().count(first.json()["id"]) == 3


def test_same_key_with_another_body_is_422(api, item):
    key = str(uuid.uuid4())
    assert checkout(api, {"items": [{"id": item.id, "qty": 1}]}, key).status_code == 202
    before = order_count()

    response = checkout(api, {"items": [{"id": item.id, "qty": 2}]}, key)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert order_count() == before


def test_key_longer_than_255_characters_is_400(api, item):
    before = order_count()
    response = checkout(api, {"items": [{"id": item.id, "qty": 1}]}, "k" * 256)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert order_count() == before
    assert checkout(api, {"items": [{"id": item.id, "qty": 1}]}, "k" * 255).status_code == 202


def test_keys_are_scoped_to_the_client(api, item):
    key = "order-1"
    body = {"items": [{"id": item.id, "qty": 1}]}
    mine = checkout(api, body, key, HTTP_X_CART_ID="a" * 32)
    theirs = checkout(api, body, key, HTTP_X_CART_ID="b" * 32)
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs
    # Neither the raw key nor the cart id is stored in clear.
    assert IdempotencyKey.count(idempotency_scoped_key(scope="a" * 32, key=key)) == 1


def test_an_expired_key_is_free_again(api, item):
    key = str(uuid.uuid4())
    body = {"items": [{"id": item.id, "qty": 1}]}
    answer = checkout(api, body, key)
    first = answer.json()["id"]
    # A client with no cart was given one: its id is the key's scope (and the client keeps it).
    record = IdempotencyKey.get(idempotency_scoped_key(scope=answer.cookies[CART_COOKIE_NAME].value, key=key))
    # moto never deletes TTL items (and DynamoDB may take days): the code must ignore them itself.
    record.update(actions=[IdempotencyKey.expires_at.set(datetime.now(UTC) - timedelta(seconds=1))])

    again = checkout(api, body, key)
    assert again.status_code == 202
    assert "Idempotent-Replayed" not in again
    assert again.json()["id"] != first


def test_twenty_concurrent_requests_with_one_key_make_one_order(web, item):
    key = str(uuid.uuid4())
    body = {"items": [{"id": item.id, "qty": 3}], "total": "75.00"}
    before = order_count()
    headers = {"Idempotency-Key": key, "X-Cart-Id": uuid.uuid4().hex}

    def post(_):
        return requests.post(f"{web.url}/checkout", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, range(20)))

    assert [r.status_code for r in responses] == [202] * 20, [
        r.text for r in responses if r.status_code != 202
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert order_count() == before + 1
    assert Order.get(responses[0].json()["id"]).total_cents == 7500


def test_a_client_without_identity_that_lost_the_answer_gets_the_same_order(item):
    """No cart id, cookie or token: its retry (same key, same body, same address) is a replay."""
    key = str(uuid.uuid4())
    body = {"items": [{"id": item.id, "qty": 1}], "email": "guest@example.com"}
    first = checkout(APIClient(), body, key)
    assert first.status_code == 202
    before = order_count()

    # The 202 (and the cart cookie it set) never reached the client: it retries as it was.
    again = checkout(APIClient(), body, key)

    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert order_count() == before
    # It is given the same cart id as the first answer gave: a retry with that cookie replays too.
    assert again.cookies[CART_COOKIE_NAME].value == first.cookies[CART_COOKIE_NAME].value
    assert again[CART_HEADER_NAME] == first[CART_HEADER_NAME]
    # Without a key, every identity-less client still gets a fresh, random cart id.
    plain = [APIClient().post("/checkout", body, format="json") for _ in range(2)]
    assert plain[0][CART_HEADER_NAME] != plain[1][CART_HEADER_NAME]


def test_clients_without_a_cart_never_share_a_key(item):
    """Two clients with no identity at two addresses send one key and one body: each gets its own order."""
    key = "order-1"
    body = {"items": [{"id": item.id, "qty": 1}]}
    alice, bob = APIClient(REMOTE_ADDR="192.0.2.10"), APIClient(REMOTE_ADDR="192.0.2.11")

    first = checkout(alice, body, key)
    second = checkout(bob, body, key)

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second
    # Each got an identity of its own, and its retry with the key replays its own order.
    assert first.cookies[CART_COOKIE_NAME].value != second.cookies[CART_COOKIE_NAME].value
    again = checkout(alice, body, key)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"


def test_no_client_can_block_another_clients_key(item):
    """A key taken first by someone else, with another body, is no 422 for its owner."""
    key = "checkout-42"
    mallory = checkout(APIClient(REMOTE_ADDR="198.51.100.66"), {"items": [{"id": item.id, "qty": 9}]}, key)
    assert mallory.status_code == 202

    mine = checkout(APIClient(), {"items": [{"id": item.id, "qty": 1}]}, key, HTTP_X_CART_ID="a" * 40)
    assert mine.status_code == 202, mine.json()
    assert mine.json()["id"] != mallory.json()["id"]
    assert "Idempotent-Replayed" not in mine
    # Nor for a client without identity at another address.
    alice = APIClient(REMOTE_ADDR="192.0.2.20")
    assert checkout(alice, {"items": [{"id": item.id, "qty": 1}]}, key).status_code == 202

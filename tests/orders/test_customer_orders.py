"""Orders belong to the customer who placed them: stored with their id and e-mail, listed by
`GET /orders` (newest first, cursor pages), and shown only to them and to staff."""

import uuid

import pytest
from rest_framework.test import APIClient

from cart.identity import cart_id_new
from orders.models import Order
from tests.accounts.support import access_token_for, bearer, email_new, user_create


@pytest.fixture
def product(make_product):
    return make_product(name="Lamp", price_cents=2500, stock=1000)


def _customer(prefix: str = "buyer") -> tuple[str, str, str]:
    email = email_new(prefix)
    user_id = user_create(email=email)
    return user_id, email, access_token_for(email=email)


def _checkout(api, product, qty: int = 1, **headers):
    response = api.post("/checkout", {"items": [{"id": product.id, "qty": qty}]}, format="json", **headers)
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_a_signed_in_order_stores_the_customer_and_their_account_email(api, product):
    user_id, email, token = _customer()
    response = api.post(
        "/checkout",
        {"items": [{"id": product.id, "qty": 2}], "email": "someone-else@example.com"},
        format="json",
        **bearer(token),
    )
    assert response.status_code == 202, response.content
    stored = Order.get(response.json()["id"], consistent_read=True)
    assert stored.customer_id == user_id
    assert stored.email == email  # the account's address, not one typed at checkout


def test_guest_checkout_still_works_and_belongs_to_nobody(api, product):
    response = api.post(
        "/checkout", {"items": [{"id": product.id, "qty": 1}], "email": "guest@example.com"}, format="json"
    )
    assert response.status_code == 202
    stored = Order.get(response.json()["id"], consistent_read=True)
    assert stored.customer_id is None
    assert stored.email == "guest@example.com"
    # Whoever holds a guest order's id may read it, as before.
    assert APIClient().get(f"/orders/{stored.order_id}").status_code == 200


def test_checkout_can_require_sign_in(api, product, settings):
    settings.CHECKOUT_REQUIRES_SIGN_IN = True
    refused = api.post("/checkout", {"items": [{"id": product.id, "qty": 1}]}, format="json")
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"
    assert refused["WWW-Authenticate"] == "Bearer"
    _user_id, _email, token = _customer()
    assert _checkout(api, product, **bearer(token))


def test_a_customers_order_answers_only_to_them_and_staff(api, product, staff_token):
    _owner_id, _email, owner = _customer("owner")
    _other_id, _other_email, other = _customer("other")
    order_id = _checkout(api, product, **bearer(owner))
    assert api.get(f"/orders/{order_id}", **bearer(owner)).status_code == 200
    assert api.get(f"/orders/{order_id}", **bearer(staff_token)).status_code == 200
    for intruder in (bearer(other), {}):
        response = api.get(f"/orders/{order_id}", **intruder)
        assert response.status_code == 404  # not 403: an order's existence is not revealed
        assert response.json()["code"] == "order_not_found"


def test_get_orders_lists_the_callers_orders_newest_first_in_pages(api, product):
    _user_id, _email, token = _customer()
    _other_id, _other_email, other = _customer("other")
    mine = [_checkout(api, product, **bearer(token)) for _ in range(5)]
    theirs = _checkout(api, product, **bearer(other))
    _checkout(api, product)  # a guest's

    seen, url, pages = [], "/orders?limit=2", 0
    while url:
        response = api.get(url, **bearer(token))
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["results"]) <= 2
        seen += [order["id"] for order in body["results"]]
        url = body["next"]
        pages += 1
    assert seen == list(reversed(mine))
    assert pages == 3  # 2 + 2 + 1: the last page has no `next`
    assert [o["id"] for o in api.get("/orders", **bearer(other)).json()["results"]] == [theirs]
    created = [o["created_at"] for o in api.get("/orders", **bearer(token)).json()["results"]]
    assert created == sorted(created, reverse=True)


def test_get_orders_needs_a_signed_in_caller(api):
    response = api.get("/orders")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_one_customers_cursor_does_not_page_anothers_orders(api, product):
    _a, _ea, first = _customer("a")
    _b, _eb, second = _customer("b")
    for _ in range(3):
        _checkout(api, product, **bearer(first))
    next_url = api.get("/orders?limit=1", **bearer(first)).json()["next"]
    response = api.get(next_url, **bearer(second))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_checkout_of_the_customers_cart_empties_it(api, product):
    _user_id, _email, token = _customer()
    api.post("/cart", {"id": product.id, "qty": 3}, format="json", **bearer(token))
    response = api.post("/checkout", {}, format="json", **bearer(token))
    assert response.status_code == 202, response.content
    assert response.json()["items"][0]["qty"] == 3
    assert api.get("/cart", **bearer(token)).json()["items"] == []


def test_idempotency_keys_are_scoped_to_the_customer(product):
    """The same key: replayed for the same customer on any device, never shared between customers."""
    _a, _ea, first = _customer("a")
    _b, _eb, second = _customer("b")
    key = {"HTTP_IDEMPOTENCY_KEY": f"k-{uuid.uuid4().hex}"}
    body = {"items": [{"id": product.id, "qty": 1}]}
    phone = APIClient().post(
        "/checkout", body, format="json", HTTP_X_CART_ID=cart_id_new(), **key, **bearer(first)
    )
    laptop = APIClient().post(
        "/checkout", body, format="json", HTTP_X_CART_ID=cart_id_new(), **key, **bearer(first)
    )
    stranger = APIClient().post("/checkout", body, format="json", **key, **bearer(second))
    assert phone.status_code == laptop.status_code == stranger.status_code == 202
    assert laptop["Idempotent-Replayed"] == "true"
    assert laptop.json()["id"] == phone.json()["id"]
    assert stranger.json()["id"] != phone.json()["id"]
    assert "Idempotent-Replayed" not in stranger

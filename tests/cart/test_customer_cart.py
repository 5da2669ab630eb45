"""A signed-in customer's cart (`user#<sub>`, the same on every device) and the merge at sign-in.

Everything against the session's real moto Cognito and DynamoDB over HTTP.
"""

import threading
import time

import pytest
from rest_framework.test import APIClient

from cart.identity import CART_COOKIE_NAME, cart_id_new, customer_cart_id
from cart.merge import cart_merge
from cart.store import cart_item_read
from catalog.models import Product
from tests.accounts.support import PASSWORD, access_token_for, bearer, email_new, user_create
from tests.cart.support import cart_expire, cart_store


def _lines(body) -> dict:
    return {item["id"]: item["qty"] for item in body["items"]}


@pytest.fixture
def customer():
    """(id, email, access token) of a fresh customer."""
    email = email_new()
    user_id = user_create(email=email)
    return user_id, email, access_token_for(email=email)


def _guest_cart(api, lines: dict[str, int]) -> str:
    cart_id = cart_id_new()
    for product_id, qty in lines.items():
        response = api.post("/cart", {"id": product_id, "qty": qty}, format="json", HTTP_X_CART_ID=cart_id)
        assert response.status_code == 200, response.content
    return cart_id


def _sign_in(api, email: str, **extra):
    response = api.post("/auth/login", {"email": email, "password": PASSWORD}, format="json", **extra)
    assert response.status_code == 200, response.content
    return response


def test_a_customers_cart_is_the_same_on_every_device(make_product, customer):
    user_id, _email, token = customer
    product = make_product(stock=10)
    phone, laptop = APIClient(), APIClient()
    added = phone.post("/cart", {"id": product.id, "qty": 2}, format="json", **bearer(token))
    assert added.status_code == 200
    assert added.json()["id"] == customer_cart_id(user_id)
    assert CART_COOKIE_NAME not in added.cookies  # the token names the cart, not a cookie
    seen = laptop.get("/cart", **bearer(token)).json()
    assert _lines(seen) == {product.id: 2}


def test_signed_in_requests_ignore_a_guest_cart_header(api, make_product, customer):
    _user_id, _email, token = customer
    product = make_product(stock=10)
    guest = _guest_cart(api, {product.id: 3})
    mine = api.get("/cart", HTTP_X_CART_ID=guest, **bearer(token)).json()
    assert mine["items"] == []
    api.post("/cart", {"id": product.id, "qty": 1}, format="json", HTTP_X_CART_ID=guest, **bearer(token))
    assert cart_item_read(cart_id=guest).lines == {product.id: 3}  # the guest cart was not touched


def test_nobody_can_name_a_customers_cart(make_product, customer):
    """`user#<sub>` is not a guest id: as a header or cookie it is ignored, never looked up."""
    user_id, _email, token = customer
    product = make_product(stock=10)
    APIClient().post("/cart", {"id": product.id, "qty": 4}, format="json", **bearer(token))
    intruder = APIClient()
    victim_cart = customer_cart_id(user_id)
    assert intruder.get("/cart", HTTP_X_CART_ID=victim_cart).json()["items"] == []
    intruder.cookies[CART_COOKIE_NAME] = victim_cart
    assert intruder.get("/cart").json()["items"] == []
    intruder.delete("/cart", HTTP_X_CART_ID=victim_cart)
    assert cart_item_read(cart_id=victim_cart).lines == {product.id: 4}


def test_sign_in_merges_the_guest_cart_once_and_deletes_it(api, make_product, customer):
    user_id, email, token = customer
    a, b, c = make_product(stock=200), make_product(stock=200), make_product(stock=200)
    api.post("/cart", {"id": b.id, "qty": 5}, format="json", **bearer(token))
    api.post("/cart", {"id": c.id, "qty": 1}, format="json", **bearer(token))
    guest = _guest_cart(api, {a.id: 2, b.id: 98})

    _sign_in(api, email, HTTP_X_CART_ID=guest)

    merged = api.get("/cart", **bearer(token)).json()
    assert _lines(merged) == {a.id: 2, b.id: 99, c.id: 1}  # summed, capped at 99
    assert cart_item_read(cart_id=guest) is None  # the guest cart is gone
    assert api.get("/cart", HTTP_X_CART_ID=guest).json()["items"] == []
    # Signing in again with the same (now gone) guest id changes nothing.
    _sign_in(api, email, HTTP_X_CART_ID=guest)
    assert _lines(api.get("/cart", **bearer(token)).json()) == {a.id: 2, b.id: 99, c.id: 1}


def test_sign_in_with_the_guest_cookie_merges_and_drops_the_cookie(make_product, customer):
    _user_id, email, token = customer
    product = make_product(stock=10)
    browser = APIClient()
    browser.post("/cart", {"id": product.id, "qty": 3}, format="json")
    guest = browser.cookies[CART_COOKIE_NAME].value
    signed_in = _sign_in(browser, email)
    assert signed_in.cookies[CART_COOKIE_NAME].value == ""  # deleted
    assert _lines(browser.get("/cart", **bearer(token)).json()) == {product.id: 3}
    assert cart_item_read(cart_id=guest) is None


def test_merge_skips_products_gone_or_out_of_stock(api, make_product, customer):
    user_id, email, token = customer
    kept, sold_out, archived, deleted = (make_product(stock=10) for _ in range(4))
    guest = _guest_cart(api, {kept.id: 1, sold_out.id: 1, archived.id: 1, deleted.id: 1})
    Product(sold_out.id).update(actions=[Product.stock.set(0)])
    Product(archived.id).update(actions=[Product.archived.set(True)])
    Product(deleted.id).delete()
    _sign_in(api, email, HTTP_X_CART_ID=guest)
    assert _lines(api.get("/cart", **bearer(token)).json()) == {kept.id: 1}
    assert cart_item_read(cart_id=guest) is None


def test_merge_keeps_at_most_50_lines_the_customers_first(make_product, customer):
    user_id, email, token = customer
    products = [make_product(stock=10) for _ in range(52)]
    now = time.time()
    mine = {p.id: 1 for p in products[:49]}
    cart_store(customer_cart_id(user_id), lines=mine, expires_at=now + 3600)
    guest = cart_id_new()
    cart_store(guest, lines={p.id: 2 for p in products[47:]}, expires_at=now + 3600)  # 2 overlap, 3 new
    cart_merge(guest_cart_id=guest, customer_cart_id=customer_cart_id(user_id))
    lines = cart_item_read(cart_id=customer_cart_id(user_id)).lines
    assert len(lines) == 50
    assert all(lines[p.id] == 1 for p in products[:47])
    assert lines[products[47].id] == lines[products[48].id] == 3
    assert sum(p.id in lines for p in products[49:]) == 1


def test_an_expired_customer_cart_does_not_come_back_in_a_merge(make_product, customer):
    user_id, _email, _token = customer
    old, new = make_product(stock=10), make_product(stock=10)
    now = time.time()
    cart_store(customer_cart_id(user_id), lines={old.id: 7}, expires_at=now + 3600, version=4)
    cart_expire(customer_cart_id(user_id))
    guest = cart_id_new()
    cart_store(guest, lines={new.id: 2}, expires_at=now + 3600)
    cart_merge(guest_cart_id=guest, customer_cart_id=customer_cart_id(user_id))
    state = cart_item_read(cart_id=customer_cart_id(user_id))
    assert state.lines == {new.id: 2}
    assert state.version == 5  # continues, never reset


def test_concurrent_merges_add_the_guest_lines_exactly_once(make_product, customer):
    user_id, _email, _token = customer
    product = make_product(stock=100)
    now = time.time()
    target = customer_cart_id(user_id)
    cart_store(target, lines={product.id: 10}, expires_at=now + 3600)
    guest = cart_id_new()
    cart_store(guest, lines={product.id: 7}, expires_at=now + 3600)
    results, failures = [], []

    def merge():
        try:
            results.append(cart_merge(guest_cart_id=guest, customer_cart_id=target))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=merge) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert cart_item_read(cart_id=target).lines == {product.id: 17}
    assert sum(result is not None for result in results) == 1
    assert cart_item_read(cart_id=guest) is None


def test_a_customer_cart_can_never_be_merged_as_a_guest_cart(customer):
    user_id, _email, _token = customer
    with pytest.raises(ValueError):
        cart_merge(guest_cart_id=customer_cart_id(user_id), customer_cart_id=customer_cart_id("someone"))
    with pytest.raises(ValueError):
        cart_merge(guest_cart_id=cart_id_new(), customer_cart_id=cart_id_new())


def test_signing_in_with_someone_elses_cart_id_takes_nothing(api, make_product):
    victim_email, thief_email = email_new("victim"), email_new("thief")
    victim_id = user_create(email=victim_email)
    user_create(email=thief_email)
    victim_token = access_token_for(email=victim_email)
    product = make_product(stock=10)
    api.post("/cart", {"id": product.id, "qty": 5}, format="json", **bearer(victim_token))
    _sign_in(api, thief_email, HTTP_X_CART_ID=customer_cart_id(victim_id))
    thief_token = access_token_for(email=thief_email)
    assert api.get("/cart", **bearer(thief_token)).json()["items"] == []
    assert cart_item_read(cart_id=customer_cart_id(victim_id)).lines == {product.id: 5}


def test_write_throttle_follows_the_customer_not_the_device(api, make_product, customer, settings):
    """The customer's writes count on the customer's cart, whatever guest id each device sends."""
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "cart_write": "3/hour"}
    _user_id, _email, token = customer
    product = make_product(stock=50)
    if 3600 - time.time() % 3600 < 30:
        time.sleep(3600 - time.time() % 3600 + 0.1)
    statuses = [
        APIClient()
        .post(
            "/cart",
            {"id": product.id, "qty": 1},
            format="json",
            HTTP_X_CART_ID=cart_id_new(),
            **bearer(token),
        )
        .status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert api.post("/cart", {"id": product.id, "qty": 1}, format="json").status_code == 200  # a guest

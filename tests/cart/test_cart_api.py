"""The cart API in-process against the real moto server: flows, identity, pricing, rules, input."""

import json
import time

import pytest
from rest_framework.test import APIClient

from cart.identity import CART_COOKIE_NAME, cart_id_new
from cart.selectors import cart_lines_get
from cart.services import MAX_CART_LINES, cart_item_add
from cart.store import cart_item_read
from tests.cart.support import cart_store


@pytest.fixture
def product(make_product):
    return make_product(name="Phone", price_cents=19999, stock=42)


def _lines(body) -> dict:
    return {item["id"]: item["qty"] for item in body["items"]}


def test_add_add_again_set_remove_flow(api, product, make_product):
    other = make_product(name="Case", price_cents=1050, stock=5)

    body = api.post("/cart", {"id": product.id, "qty": 2}, format="json").json()
    assert body["items"] == [
        {
            "id": product.id,
            "name": "Phone",
            "qty": 2,
            "unit_price": "199.99",
            "line_total": "399.98",
            "available": True,
        }
    ]
    assert body["subtotal"] == "399.98"
    assert body["currency"] == "USD"

    body = api.post("/cart", {"id": product.id, "qty": 3}, format="json").json()
    assert _lines(body) == {product.id: 5}
    assert body["items"][0]["line_total"] == "999.95"

    body = api.post("/cart", {"id": other.id, "qty": 1}, format="json").json()
    assert _lines(body) == {product.id: 5, other.id: 1}

    body = api.patch("/cart", {"id": product.id, "qty": 1}, format="json").json()
    assert _lines(body) == {product.id: 1, other.id: 1}
    assert body["subtotal"] == "210.49"

    body = api.delete("/cart", {"id": other.id}, format="json").json()
    assert _lines(body) == {product.id: 1}

    body = api.patch("/cart", {"id": product.id, "qty": 0}, format="json").json()
    assert body["items"] == []
    assert body["subtotal"] == "0.00"
    assert api.get("/cart").json()["items"] == []


def test_delete_without_body_empties_the_cart(api, product, make_product):
    api.post("/cart", {"id": product.id, "qty": 2}, format="json")
    cart_id = api.post("/cart", {"id": make_product().id, "qty": 1}, format="json").json()["id"]

    response = api.delete("/cart")

    assert response.status_code == 200
    assert response.json()["items"] == []
    assert cart_lines_get(cart_id=cart_id) == {}
    # The emptied cart still works.
    assert _lines(api.post("/cart", {"id": product.id, "qty": 1}, format="json").json()) == {product.id: 1}


def test_removing_a_missing_line_is_harmless(api, product):
    api.post("/cart", {"id": product.id, "qty": 2}, format="json")
    body = api.delete("/cart", {"id": "not-in-cart"}, format="json").json()
    assert _lines(body) == {product.id: 2}


def test_two_clients_never_see_each_others_lines(product, make_product):
    alice, bob = APIClient(), APIClient()
    bobs_product = make_product()

    alice_cart = alice.post("/cart", {"id": product.id, "qty": 1}, format="json").json()
    bob_cart = bob.post("/cart", {"id": bobs_product.id, "qty": 3}, format="json").json()

    assert alice_cart["id"] != bob_cart["id"]
    assert _lines(alice.get("/cart").json()) == {product.id: 1}
    assert _lines(bob.get("/cart").json()) == {bobs_product.id: 3}
    assert _lines(APIClient().get("/cart").json()) == {}


def test_first_write_sets_an_unguessable_httponly_lax_cookie(api, product):
    assert api.get("/cart").json() == {"id": None, "items": [], "subtotal": "0.00", "currency": "USD"}

    response = api.post("/cart", {"id": product.id, "qty": 1}, format="json")

    cookie = response.cookies[CART_COOKIE_NAME]
    assert cookie.value == response.json()["id"]
    assert len(cookie.value) >= 32  # token_urlsafe(24): 192 bits
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # local: plain HTTP; production sets Secure
    assert int(cookie["max-age"]) == 7 * 24 * 3600
    # The same client (cookie jar) keeps adding to the same cart.
    again = api.post("/cart", {"id": product.id, "qty": 1}, format="json").json()
    assert again["id"] == cookie.value
    assert _lines(again) == {product.id: 2}


def test_production_cookie_is_secure(api, product, settings):
    settings.IS_PRODUCTION = True
    response = api.post("/cart", {"id": product.id, "qty": 1}, format="json")
    assert response.cookies[CART_COOKIE_NAME]["secure"] is True


def test_header_gives_the_same_cart_without_cookies(product):
    cart_id = APIClient().post("/cart", {"id": product.id, "qty": 2}, format="json").json()["id"]

    headless = APIClient()
    body = headless.get("/cart", HTTP_X_CART_ID=cart_id).json()
    assert body["id"] == cart_id
    assert _lines(body) == {product.id: 2}
    body = headless.post("/cart", {"id": product.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id).json()
    assert body["id"] == cart_id
    assert _lines(body) == {product.id: 3}


@pytest.mark.parametrize(
    "garbage",
    ["x", "../../etc/passwd", "a" * 10_000, "' OR '1'='1", "é" * 30, "a b c d e f g h i j k l m n o p", ""],
)
def test_garbage_cart_id_is_a_new_empty_cart(product, garbage):
    owner = APIClient()
    owner.post("/cart", {"id": product.id, "qty": 1}, format="json")

    client = APIClient()
    client.cookies[CART_COOKIE_NAME] = garbage
    body = client.get("/cart", HTTP_X_CART_ID=garbage).json()
    assert body["items"] == [] and body["id"] is None

    response = client.post("/cart", {"id": product.id, "qty": 4}, format="json", HTTP_X_CART_ID=garbage)
    assert response.status_code == 200
    assert response.json()["id"] not in (garbage, None)
    assert _lines(response.json()) == {product.id: 4}


def test_unknown_well_formed_id_is_an_empty_cart(api, product):
    unknown = cart_id_new()
    body = api.get("/cart", HTTP_X_CART_ID=unknown).json()
    assert body["items"] == []


def test_expired_cart_reads_as_empty_and_starts_afresh(api, product):
    cart_id = cart_id_new()
    cart_store(cart_id, lines={product.id: 7}, expires_at=time.time() - 5, version=4)

    assert api.get("/cart", HTTP_X_CART_ID=cart_id).json()["items"] == []
    assert cart_lines_get(cart_id=cart_id) == {}

    # Adding to the expired line starts from zero, not from the expired quantity.
    body = api.post("/cart", {"id": product.id, "qty": 2}, format="json", HTTP_X_CART_ID=cart_id).json()
    assert _lines(body) == {product.id: 2}
    # The version carries on from the dead cart's: a checkout that read it can never match.
    assert cart_item_read(cart_id=cart_id).version == 5


def test_a_write_slides_the_expiry_of_the_whole_cart(api, product, make_product):
    cart_id = cart_id_new()
    cart_store(cart_id, lines={product.id: 1}, expires_at=time.time() + 86400)

    api.post("/cart", {"id": make_product().id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)

    assert cart_item_read(cart_id=cart_id).expires_at > time.time() + 6 * 86400 + 23 * 3600
    assert len(cart_lines_get(cart_id=cart_id)) == 2


def test_a_dead_full_cart_starts_afresh(api, product):
    """A cart past its expiry holding 50 lines: they count for nothing, the new line fits."""
    cart_id = cart_id_new()
    cart_store(
        cart_id, lines={f"old-{n}": 5 for n in range(MAX_CART_LINES)}, expires_at=time.time() - 2 * 86400
    )

    response = api.post("/cart", {"id": product.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)

    assert response.status_code == 200, response.json()
    assert _lines(response.json()) == {product.id: 1}
    assert _lines(api.get("/cart", HTTP_X_CART_ID=cart_id).json()) == {product.id: 1}


def test_removing_lines_frees_room_for_new_ones(api, make_product):
    cart_id = cart_id_new()
    cart_store(
        cart_id, lines={f"held-{n:02d}": 1 for n in range(MAX_CART_LINES)}, expires_at=time.time() + 86400
    )
    newcomer = make_product()
    full = api.post("/cart", {"id": newcomer.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)
    assert full.json()["code"] == "cart_full"

    api.delete("/cart", {"id": "held-00"}, format="json", HTTP_X_CART_ID=cart_id)
    api.patch("/cart", {"id": "held-01", "qty": 0}, format="json", HTTP_X_CART_ID=cart_id)

    response = api.post("/cart", {"id": newcomer.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)
    assert response.status_code == 200, response.json()
    assert len(cart_lines_get(cart_id=cart_id)) == MAX_CART_LINES - 1


def test_catalog_price_change_shows_in_the_cart(api, product):
    api.post("/cart", {"id": product.id, "qty": 3}, format="json")
    product.update(actions=[type(product).price_cents.set(15050)])

    body = api.get("/cart").json()

    assert body["items"][0]["unit_price"] == "150.50"
    assert body["items"][0]["line_total"] == "451.50"
    assert body["subtotal"] == "451.50"


def test_product_gone_from_catalog_is_unavailable_and_not_in_subtotal(api, product, make_product):
    gone = make_product(price_cents=500)
    api.post("/cart", {"id": product.id, "qty": 1}, format="json")
    api.post("/cart", {"id": gone.id, "qty": 2}, format="json")
    gone.delete()

    body = api.get("/cart").json()

    item = next(i for i in body["items"] if i["id"] == gone.id)
    assert item == {
        "id": gone.id,
        "name": None,
        "qty": 2,
        "unit_price": None,
        "line_total": None,
        "available": False,
    }
    assert body["subtotal"] == "199.99"


def test_unknown_product_is_404_and_stores_nothing(api):
    response = api.post("/cart", {"id": "no-such-product", "qty": 1}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    assert CART_COOKIE_NAME not in response.cookies


def test_more_than_stock_is_409_out_of_stock(api, make_product):
    scarce = make_product(stock=3)
    assert api.post("/cart", {"id": scarce.id, "qty": 4}, format="json").status_code == 409
    api.post("/cart", {"id": scarce.id, "qty": 2}, format="json")

    response = api.post("/cart", {"id": scarce.id, "qty": 2}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "out_of_stock"
    assert response.json()["available"] == 3
    assert _lines(api.get("/cart").json()) == {scarce.id: 2}
    assert api.patch("/cart", {"id": scarce.id, "qty": 4}, format="json").json()["code"] == "out_of_stock"


def test_adding_past_99_on_a_line_is_400(api, make_product):
    plenty = make_product(stock=1000)
    api.post("/cart", {"id": plenty.id, "qty": 60}, format="json")

    response = api.post("/cart", {"id": plenty.id, "qty": 40}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "qty_limit"
    assert _lines(api.get("/cart").json()) == {plenty.id: 60}
    assert _lines(api.post("/cart", {"id": plenty.id, "qty": 39}, format="json").json()) == {plenty.id: 99}


def test_fifty_first_line_is_409_cart_full(api, make_product):
    cart_id = cart_id_new()
    for _ in range(MAX_CART_LINES):
        cart_item_add(cart_id=cart_id, product_id=make_product().id, qty=1)

    response = api.post("/cart", {"id": make_product().id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)

    assert response.status_code == 409
    assert response.json()["code"] == "cart_full"
    assert len(cart_lines_get(cart_id=cart_id)) == MAX_CART_LINES


def test_form_encoded_post_and_patch_work(api, product):
    body = api.post(
        "/cart", f"id={product.id}&qty=2", content_type="application/x-www-form-urlencoded"
    ).json()
    assert _lines(body) == {product.id: 2}
    body = api.patch(
        "/cart", f"id={product.id}&qty=7", content_type="application/x-www-form-urlencoded"
    ).json()
    assert _lines(body) == {product.id: 7}
    body = api.post("/cart", {"id": product.id, "qty": "1"}, format="multipart").json()
    assert _lines(body) == {product.id: 8}


def test_browsable_api_shows_forms_for_add_and_set(api, product):
    api.post("/cart", {"id": product.id, "qty": 1}, format="json")

    response = api.get("/cart", HTTP_ACCEPT="text/html")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert product.id in html
    # DRF renders an HTML form for POST (add) and PUT (set) from the view's input serializers, and
    # a raw-content form whose buttons include PATCH, plus a DELETE button (empties the cart).
    assert html.count('name="qty"') == 2
    assert html.count('name="id"') == 2
    assert 'action="/cart" method="POST" enctype="multipart/form-data"' in html
    for method in ("PUT", "PATCH", "DELETE"):
        assert f'data-method="{method}"' in html, method


# --- bad input: each a 4xx JSON error with a code, and nothing stored -------------------------

BAD_JSON_BODIES = [
    ("{not json", 400, "parse_error"),
    ('[{"id": "P", "qty": 1}]', 400, "invalid"),
    ('"just a string"', 400, "invalid"),
    ("{}", 400, "invalid"),
    ('{"id": "P"}', 400, "invalid"),
    ('{"qty": 1}', 400, "invalid"),
    ('{"id": {"nested": "P"}, "qty": 1}', 400, "invalid"),
    ('{"id": ["P"], "qty": 1}', 400, "invalid"),
    ('{"id": null, "qty": 1}', 400, "invalid"),
    ('{"id": true, "qty": 1}', 400, "invalid"),
    (json.dumps({"id": "x" * 10_000, "qty": 1}), 400, "invalid"),
    ('{"id": "a/b", "qty": 1}', 400, "invalid"),
    ('{"id": "P", "qty": 0}', 400, "invalid"),
    ('{"id": "P", "qty": -1}', 400, "invalid"),
    ('{"id": "P", "qty": 1.5}', 400, "invalid"),
    ('{"id": "P", "qty": "abc"}', 400, "invalid"),
    ('{"id": "P", "qty": 1000000000000}', 400, "invalid"),
    ('{"id": "P", "qty": 100}', 400, "invalid"),
    ('{"id": "P", "qty": null}', 400, "invalid"),
    ('{"id": "P", "qty": true}', 400, "invalid"),
    ('{"id": "P", "qty": "1e3"}', 400, "invalid"),
]


@pytest.fixture
def client_with_cart(product):
    client = APIClient()
    cart_id = client.post("/cart", {"id": product.id, "qty": 1}, format="json").json()["id"]
    return client, cart_id


def _assert_unchanged(client, cart_id, product):
    assert cart_lines_get(cart_id=cart_id) == {product.id: 1}
    assert _lines(client.get("/cart").json()) == {product.id: 1}


BAD_WRITES = [("post", *case) for case in BAD_JSON_BODIES] + [
    # PATCH takes qty 0 (it removes the line), so that one case is not bad input there.
    ("patch", *case)
    for case in BAD_JSON_BODIES
    if '"qty": 0}' not in case[0]
]


@pytest.mark.parametrize(("method", "body", "status", "code"), BAD_WRITES)
def test_bad_json_input_is_4xx_and_stores_nothing(client_with_cart, product, method, body, status, code):
    client, cart_id = client_with_cart
    response = getattr(client, method)(
        "/cart", body.replace('"P"', f'"{product.id}"'), content_type="application/json"
    )
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    _assert_unchanged(client, cart_id, product)


def test_bad_input_from_a_new_client_mints_no_cart(product):
    response = APIClient().post("/cart", {"id": product.id, "qty": 0}, format="json")
    assert response.status_code == 400
    assert "qty" in response.json()["errors"]
    assert CART_COOKIE_NAME not in response.cookies


def test_delete_with_a_bad_body_is_400_not_an_emptied_cart(client_with_cart, product):
    client, cart_id = client_with_cart
    for body in ["{}", "{broken", '{"id": {"a": 1}}', "[]"]:
        response = client.delete("/cart", body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["code"] in ("invalid", "parse_error")
    _assert_unchanged(client, cart_id, product)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream"])
def test_wrong_content_type_is_415(client_with_cart, product, content_type):
    client, cart_id = client_with_cart
    response = client.post("/cart", f'{{"id": "{product.id}", "qty": 1}}', content_type=content_type)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    _assert_unchanged(client, cart_id, product)


def test_two_megabyte_body_is_413_json(client_with_cart, product):
    """A valid add padded to 2 MB: without the size check it would be parsed and stored."""
    client, cart_id = client_with_cart
    body = json.dumps({"id": product.id, "qty": 1, "pad": "x" * 2_000_000})
    response = client.post("/cart", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    _assert_unchanged(client, cart_id, product)

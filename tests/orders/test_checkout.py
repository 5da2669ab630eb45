"""POST /checkout and GET /orders/{id} in-process, against the real moto server (DynamoDB + SQS)."""

import json

import pytest

from cart.services import cart_item_add
from catalog.models import Product
from orders.models import Order
from tests.orders.support import order_count


@pytest.fixture
def phone(make_product):
    return make_product(name="Smartphone X", price_cents=19999, stock=42)


def checkout(api, body, **headers):
    return api.post("/checkout", body, format="json", **headers)


def test_checkout_stores_pending_order_and_publishes_it(api, phone, orders_queue):
    response = checkout(api, {"items": [{"id": phone.id, "qty": 2}], "total": "399.98"})

    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/orders/{body['id']}"
    assert body["status"] == "PENDING"
    assert body["total"] == "399.98"
    assert body["currency"] == "USD"
    assert body["items"] == [
        {"id": phone.id, "name": "Smartphone X", "qty": 2, "unit_price": "199.99", "line_total": "399.98"}
    ]
    assert [change["status"] for change in body["history"]] == ["PENDING"]

    stored = Order.get(body["id"], consistent_read=True)
    assert stored.status == "PENDING"
    assert stored.total_cents == 39998
    assert orders_queue.order_ids() == [body["id"]]
    # Checkout only reserves nothing: the worker moves the stock.
    assert Product.get(phone.id, consistent_read=True).stock == 42

    detail = api.get(response["Location"])
    assert detail.status_code == 200
    assert detail.json() == body


def test_total_may_be_a_json_number_and_is_exact(api, make_product):
    item = make_product(price_cents=10, stock=5)  # 0.10: a float sum of three would be 0.30000000000000004
    response = api.post(
        "/checkout",
        data='{"items": [{"id": "ITEM", "qty": 3}], "total": 0.30}'.replace("ITEM", item.id),
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    assert response.json()["total"] == "0.30"


def test_order_snapshots_name_and_price_at_checkout(api, phone):
    order_id = checkout(api, {"items": [{"id": phone.id, "qty": 1}]}).json()["id"]
    phone.update(actions=[Product.price_cents.set(50000), Product.name.set("Renamed")])

    body = api.get(f"/orders/{order_id}").json()
    assert body["items"][0]["name"] == "Smartphone X"
    assert body["items"][0]["unit_price"] == "199.99"
    assert body["total"] == "199.99"


def test_repeated_product_lines_are_merged_into_one(api, phone):
    response = checkout(api, {"items": [{"id": phone.id, "qty": 1}, {"id": phone.id, "qty": 2}]})
    assert response.status_code == 202
    assert [(line["id"], line["qty"]) for line in response.json()["items"]] == [(phone.id, 3)]


def test_wrong_total_is_409_with_server_total_and_nothing_stored(api, phone, orders_queue):
    before = order_count()
    response = checkout(api, {"items": [{"id": phone.id, "qty": 2}], "total": "399.97"})

    assert response.status_code == 409
    assert response.json()["code"] == "total_mismatch"
    assert response.json()["total"] == "399.98"
    assert order_count() == before
    assert orders_queue.depth() == 0


def test_stock_precheck_is_409_naming_the_products(api, make_product, orders_queue):
    plenty = make_product(stock=10)
    scarce = make_product(stock=1)
    before = order_count()
    response = checkout(api, {"items": [{"id": plenty.id, "qty": 2}, {"id": scarce.id, "qty": 2}]})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "out_of_stock"
    assert body["products"] == [{"id": scarce.id, "requested": 2, "available": 1}]
    assert order_count() == before
    assert orders_queue.depth() == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"items": [{"id": "no-such-product", "qty": 1}]}, 400, "unknown_products"),
        ({"items": [{"id": "PRODUCT", "qty": 0}]}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": -1}]}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": 1.5}]}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": 10**12}]}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": "2; DROP"}]}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": True}]}, 400, "invalid"),
        ({"items": [{"id": "../etc", "qty": 1}]}, 400, "invalid"),
        ({"items": [{"qty": 1}]}, 400, "invalid"),
        ({"items": []}, 400, "invalid"),
        ({"items": "PRODUCT"}, 400, "invalid"),
        ({"items": [{"id": f"p{n}", "qty": 1} for n in range(100)]}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": 1}], "total": "abc"}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": 1}], "total": "-1.00"}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": 1}], "total": "10.001"}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": 1}], "total": "1e400"}, 400, "invalid"),
        ({"items": [{"id": "PRODUCT", "qty": 1}], "total": [1]}, 400, "invalid"),
        ([{"id": "PRODUCT", "qty": 1}], 400, "invalid"),
    ],
)
def test_bad_checkouts_are_4xx_json_and_store_and_publish_nothing(
    api, phone, orders_queue, body, status, code
):
    raw = json.dumps(body).replace("PRODUCT", phone.id)
    before = order_count()

    response = api.post("/checkout", data=raw, content_type="application/json")

    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code
    assert order_count() == before
    assert orders_queue.depth() == 0


@pytest.mark.parametrize("raw", ['{"items": [', "not json", '{"items": [{"id": "1", "qty": NaN}]}', "\xff"])
def test_malformed_json_is_400_and_stores_nothing(api, orders_queue, raw):
    before = order_count()
    response = api.post("/checkout", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert order_count() == before
    assert orders_queue.depth() == 0


def test_ninety_nine_lines_are_accepted(api, make_product):
    products = [make_product(price_cents=100, stock=1) for _ in range(99)]
    response = checkout(api, {"items": [{"id": p.id, "qty": 1} for p in products], "total": "99.00"})
    assert response.status_code == 202, response.content
    assert len(response.json()["items"]) == 99


def test_checkout_of_the_cart_orders_its_lines_and_empties_it(api, phone, make_product):
    case = make_product(name="Case", price_cents=1050, stock=5)
    cart = api.post("/cart", {"id": phone.id, "qty": 2}, format="json").json()
    cart_id = cart["id"]
    api.post("/cart", {"id": case.id, "qty": 1}, format="json", HTTP_X_CART_ID=cart_id)

    response = checkout(api, {"total": "410.48"}, HTTP_X_CART_ID=cart_id)

    assert response.status_code == 202, response.content
    lines = {line["id"]: line["qty"] for line in response.json()["items"]}
    assert lines == {phone.id: 2, case.id: 1}
    assert Order.get(response.json()["id"]).cart_id == cart_id
    assert api.get("/cart", HTTP_X_CART_ID=cart_id).json()["items"] == []


def test_checkout_of_an_empty_or_missing_cart_is_400(api, orders_queue):
    assert checkout(api, {}).json()["code"] == "cart_empty"
    response = checkout(api, {}, HTTP_X_CART_ID="a" * 32)
    assert response.status_code == 400
    assert response.json()["code"] == "cart_empty"
    assert orders_queue.depth() == 0


def test_a_cart_with_a_wrong_total_is_not_emptied(api, phone):
    cart_id = api.post("/cart", {"id": phone.id, "qty": 1}, format="json").json()["id"]
    response = checkout(api, {"total": "1.00"}, HTTP_X_CART_ID=cart_id)
    assert response.status_code == 409
    assert len(api.get("/cart", HTTP_X_CART_ID=cart_id).json()["items"]) == 1
    cart_item_add(cart_id=cart_id, product_id=phone.id, qty=1)  # the cart still works


def test_unknown_or_malformed_order_id_is_404_json(api):
    for path in ["/orders/" + "0" * 32, "/orders/nope", "/orders/" + "A" * 32]:
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["code"] in ("order_not_found", "not_found")


def test_order_ids_are_unguessable(api, phone):
    ids = {checkout(api, {"items": [{"id": phone.id, "qty": 1}]}).json()["id"] for _ in range(3)}
    assert len(ids) == 3
    for order_id in ids:
        assert len(order_id) == 32
        int(order_id, 16)  # 128 random bits in hex

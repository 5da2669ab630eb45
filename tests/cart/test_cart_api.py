"""The cart API in-process against the real moto server: flows, identity, pricing, rules."""

import pytest


@pytest.fixture
def product(make_product):
    return make_product(name="Phone", price_cents=19999, stock=42)


def test_add_add_again_set_remove_flow(api, product, make_product):
    other = make_product(name="Case", price_cents=1050, stock=5)

    body = api.post("/cart", {"id": product.id, "qty": 2}, format="json").json()
    assert [(i["id"], i["qty"]) for i in body["items"]] == [(product.id, 2)]
    assert body["subtotal"] == "399.98"

    body = api.post("/cart", {"id": product.id, "qty": 3}, format="json").json()
    assert body["items"][0]["qty"] == 5
    assert body["items"][0]["line_total"] == "999.95"

    body = api.post("/cart", {"id": other.id, "qty": 1}, format="json").json()
    assert {i["id"]: i["qty"] for i in body["items"]} == {product.id: 5, other.id: 1}

    body = api.patch("/cart", {"id": product.id, "qty": 1}, format="json").json()
    assert {i["id"]: i["qty"] for i in body["items"]} == {product.id: 1, other.id: 1}
    assert body["subtotal"] == "210.49"

    body = api.delete("/cart", {"id": other.id}, format="json").json()
    assert [i["id"] for i in body["items"]] == [product.id]

    body = api.patch("/cart", {"id": product.id, "qty": 0}, format="json").json()
    assert body["items"] == []
    assert body["subtotal"] == "0.00"
    assert api.get("/cart").json()["items"] == []

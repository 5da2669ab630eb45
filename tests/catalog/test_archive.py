"""Archiving a product that sits in carts and in a PENDING order: carts show it unavailable,
checkout refuses it, and the order already placed still confirms or rejects on its stock."""

from catalog.models import Product
from catalog.services import product_archive
from orders.models import Order
from orders.services import LineRequest, order_place, order_process


def _cart_with(api, product) -> None:
    response = api.post("/cart", {"id": product.id, "qty": 2}, format="json")
    assert response.status_code == 200, response.content


def test_archived_product_in_a_cart_shows_unavailable_and_cannot_be_checked_out(api, make_product):
    kept = make_product(name="Kept", price_cents=500)
    gone = make_product(name="Gone", price_cents=700)
    _cart_with(api, kept)
    _cart_with(api, gone)

    product_archive(product_id=gone.id)

    cart = api.get("/cart").json()
    lines = {line["id"]: line for line in cart["items"]}
    assert lines[gone.id]["available"] is False
    assert lines[kept.id]["available"] is True
    assert cart["subtotal"] == "10.00"  # the archived line is not priced

    response = api.post("/checkout", {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_products"
    assert response.json()["products"] == [gone.id]

    response = api.post("/cart", {"id": gone.id, "qty": 1}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


def test_pending_order_of_an_archived_product_still_confirms(make_product):
    product = make_product(stock=5)
    placed = order_place(lines=[LineRequest(product.id, 3)], client_total_cents=None, cart_id=None)
    product_archive(product_id=product.id)

    assert order_process(order_id=placed.order_id) == Order.CONFIRMED

    assert Order.get(placed.order_id, consistent_read=True).status == Order.CONFIRMED
    stored = Product.get(product.id, consistent_read=True)
    assert (int(stored.stock), stored.archived) == (2, True)


def test_pending_order_of_an_archived_product_still_rejects_when_short(make_product):
    product = make_product(stock=5)
    placed = order_place(lines=[LineRequest(product.id, 4)], client_total_cents=None, cart_id=None)
    product_archive(product_id=product.id)
    Product(id=product.id).update(actions=[Product.stock.set(1)])  # sold elsewhere meanwhile

    assert order_process(order_id=placed.order_id) == Order.REJECTED

    order = Order.get(placed.order_id, consistent_read=True)
    assert (order.status, order.reason) == ("REJECTED", "out_of_stock")
    assert list(order.reason_products) == [product.id]
    assert int(Product.get(product.id, consistent_read=True).stock) == 1

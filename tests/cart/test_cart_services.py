"""The cart functions checkout builds on: live lines, clearing, pricing, validation."""

from datetime import UTC, datetime, timedelta

import pytest

from cart.identity import cart_id_new
from cart.models import CART_HEAD_ID, CartLine
from cart.selectors import cart_get, cart_lines_get
from cart.services import cart_clear, cart_item_add, cart_item_set
from cloudcart.errors import QtyLimit


def test_cart_lines_get_returns_live_lines_only(make_product):
    cart_id = cart_id_new()
    kept, stale = make_product(), make_product()
    cart_item_add(cart_id=cart_id, product_id=kept.id, qty=3)
    cart_item_add(cart_id=cart_id, product_id=stale.id, qty=1)
    CartLine(cart_id, stale.id).update(
        actions=[CartLine.expires_at.set(datetime.now(UTC) - timedelta(seconds=1))]
    )

    lines = cart_lines_get(cart_id=cart_id)

    assert [(line.product_id, int(line.qty)) for line in lines] == [(kept.id, 3)]  # no head, no expired
    assert cart_get(cart_id=cart_id).subtotal_cents == 3 * kept.price_cents


def test_cart_clear_deletes_every_item_and_the_cart_starts_over(make_product):
    cart_id = cart_id_new()
    products = [make_product() for _ in range(3)]
    for product in products:
        cart_item_add(cart_id=cart_id, product_id=product.id, qty=1)

    cart_clear(cart_id=cart_id)

    assert list(CartLine.query(cart_id, consistent_read=True)) == []
    cart_item_add(cart_id=cart_id, product_id=products[0].id, qty=2)
    assert CartLine.get(cart_id, CART_HEAD_ID).products == {products[0].id}
    cart_clear(cart_id=cart_id)
    cart_clear(cart_id=cart_id)  # clearing an empty cart is fine


@pytest.mark.parametrize("qty", [0, -1, 100, 1.5, "2", True, None])
def test_services_refuse_bad_quantities_from_any_caller(make_product, qty):
    cart_id = cart_id_new()
    product = make_product()
    with pytest.raises(QtyLimit):
        cart_item_add(cart_id=cart_id, product_id=product.id, qty=qty)
    assert cart_lines_get(cart_id=cart_id) == []


def test_set_to_zero_removes_the_line(make_product):
    cart_id = cart_id_new()
    product = make_product()
    cart_item_add(cart_id=cart_id, product_id=product.id, qty=4)
    assert cart_item_set(cart_id=cart_id, product_id=product.id, qty=0).items == []
    assert cart_lines_get(cart_id=cart_id) == []

"""The cart functions checkout builds on: live lines, clearing, pricing, validation, one item per cart."""

import time

import pytest

from cart.errors import QtyLimit
from cart.identity import cart_id_new
from cart.selectors import cart_get, cart_lines_get
from cart.services import cart_clear, cart_item_add, cart_item_remove, cart_item_set
from cart.store import cart_item_read
from tests.cart.support import cart_expire


def test_cart_lines_get_returns_live_lines_only(make_product):
    cart_id = cart_id_new()
    kept = make_product()
    cart_item_add(cart_id=cart_id, product_id=kept.id, qty=3)
    assert cart_lines_get(cart_id=cart_id) == {kept.id: 3}
    assert cart_get(cart_id=cart_id).subtotal_cents == 3 * kept.price_cents

    cart_expire(cart_id)

    assert cart_lines_get(cart_id=cart_id) == {}
    assert cart_get(cart_id=cart_id).items == []


def test_a_cart_is_one_item_whose_version_grows_with_every_write(make_product):
    cart_id = cart_id_new()
    first, second = make_product(), make_product()

    cart_item_add(cart_id=cart_id, product_id=first.id, qty=1)
    cart_item_add(cart_id=cart_id, product_id=first.id, qty=2)
    cart_item_add(cart_id=cart_id, product_id=second.id, qty=1)
    cart_item_set(cart_id=cart_id, product_id=second.id, qty=5)
    cart_item_remove(cart_id=cart_id, product_id=first.id)

    state = cart_item_read(cart_id=cart_id)
    assert state.lines == {second.id: 5}
    assert state.version == 5
    assert state.expires_at > time.time() + 7 * 86400 - 60


def test_cart_clear_empties_the_cart_and_it_starts_over(make_product):
    cart_id = cart_id_new()
    products = [make_product() for _ in range(3)]
    for product in products:
        cart_item_add(cart_id=cart_id, product_id=product.id, qty=1)

    assert cart_clear(cart_id=cart_id).items == []

    assert cart_lines_get(cart_id=cart_id) == {}
    cart_item_add(cart_id=cart_id, product_id=products[0].id, qty=2)
    assert cart_lines_get(cart_id=cart_id) == {products[0].id: 2}
    cart_clear(cart_id=cart_id)
    cart_clear(cart_id=cart_id)  # clearing an empty cart is fine
    cart_clear(cart_id=cart_id_new())  # and so is clearing a cart that never was
    assert cart_item_read(cart_id=cart_id).version == 7  # 3 adds, 3 clears and an add


@pytest.mark.parametrize("qty", [0, -1, 100, 1.5, "2", True, None])
def test_services_refuse_bad_quantities_from_any_caller(make_product, qty):
    cart_id = cart_id_new()
    product = make_product()
    with pytest.raises(QtyLimit):
        cart_item_add(cart_id=cart_id, product_id=product.id, qty=qty)
    assert cart_lines_get(cart_id=cart_id) == {}


def test_set_to_zero_removes_the_line(make_product):
    cart_id = cart_id_new()
    product = make_product()
    cart_item_add(cart_id=cart_id, product_id=product.id, qty=4)
    assert cart_item_set(cart_id=cart_id, product_id=product.id, qty=0).items == []
    assert cart_lines_get(cart_id=cart_id) == {}

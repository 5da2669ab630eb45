"""Concurrent writes to one cart over real gunicorn and moto: no lost update, limits hold."""

import json
from concurrent.futures import ThreadPoolExecutor

import requests

from cart.selectors import cart_lines_get
from cart.services import MAX_CART_LINES, cart_item_add


def _add(url: str, cart_id: str, product_id: str, qty: int = 1) -> requests.Response:
    return requests.post(
        f"{url}/cart", json={"id": product_id, "qty": qty}, headers={"X-Cart-Id": cart_id}, timeout=30
    )


def test_twenty_concurrent_adds_over_http_lose_no_update(web, make_product):
    product = make_product(stock=99)
    cart_id = requests.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, timeout=30).json()["id"]
    requests.delete(f"{web.url}/cart", headers={"X-Cart-Id": cart_id}, timeout=30)

    # The line does not exist yet: the first adds race to create it, the rest add to it.
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: _add(web.url, cart_id, product.id), range(20)))

    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.ok is False]
    assert cart_lines_get(cart_id=cart_id) == {product.id: 20}
    assert (
        requests.get(f"{web.url}/cart", headers={"X-Cart-Id": cart_id}, timeout=30).json()["items"][0]["qty"]
        == 20
    )


def _race(fn, args_list, workers=20):
    """Run fn(*args) for every args at once; return each result or the exception it raised."""

    def call(args):
        try:
            return fn(*args)
        except Exception as exc:  # the outcome under test
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(call, args_list))


def test_concurrent_new_lines_never_pass_fifty(make_product):
    from cart.errors import CartFull
    from cart.identity import cart_id_new

    cart_id = cart_id_new()
    products = [make_product(stock=5) for _ in range(MAX_CART_LINES + 10)]
    for product in products[:45]:
        cart_item_add(cart_id=cart_id, product_id=product.id, qty=1)

    outcomes = _race(
        lambda p: cart_item_add(cart_id=cart_id, product_id=p, qty=1), [(p.id,) for p in products[45:]]
    )

    full = [o for o in outcomes if isinstance(o, CartFull)]
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, CartFull)]
    assert not unexpected, unexpected
    assert len(full) == 10
    assert len(cart_lines_get(cart_id=cart_id)) == MAX_CART_LINES


def test_concurrent_adds_never_pass_99_per_line(make_product):
    from cart.errors import QtyLimit
    from cart.identity import cart_id_new

    cart_id = cart_id_new()
    product = make_product(stock=500)
    cart_item_add(cart_id=cart_id, product_id=product.id, qty=90)

    outcomes = _race(
        lambda _: cart_item_add(cart_id=cart_id, product_id=product.id, qty=1), [(n,) for n in range(20)]
    )

    assert sum(isinstance(o, QtyLimit) for o in outcomes) == 11
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, QtyLimit)]
    assert cart_lines_get(cart_id=cart_id) == {product.id: 99}


def test_cookie_jar_flow_over_gunicorn(web, make_product):
    """A browser-like client (cookie jar) keeps one cart across requests and gunicorn workers."""
    product = make_product(price_cents=250, stock=10)
    browser = requests.Session()

    first = browser.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, timeout=30)
    assert "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=Lax" in first.headers["Set-Cookie"]
    for _ in range(4):
        browser.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, timeout=30)

    body = browser.get(f"{web.url}/cart", timeout=30).json()
    assert body["id"] == first.json()["id"] == browser.cookies["cart_id"]
    assert body["items"][0]["qty"] == 5
    assert body["subtotal"] == "12.50"
    assert requests.get(f"{web.url}/cart", timeout=30).json()["items"] == []  # no cookie, no cart


def test_two_megabyte_body_is_413_json_under_gunicorn(web, make_product):
    product = make_product()
    browser = requests.Session()
    browser.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, timeout=30)

    response = browser.post(
        f"{web.url}/cart",
        data=json.dumps({"id": product.id, "qty": 1, "pad": "x" * 2_000_000}),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"
    assert browser.get(f"{web.url}/cart", timeout=30).json()["items"][0]["qty"] == 1

"""The catalog endpoints against the real moto server: listings, detail, pagination, errors."""

import pytest

from catalog.models import Product
from catalog.services import product_build


def _store(products):
    with Product.batch_write() as batch:
        for product in products:
            batch.save(product)


def _walk(api, url):
    """Follow `next` links to the end; return every id seen, in order."""
    seen, pages = [], 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["results"]) <= 7
        seen.extend(p["id"] for p in body["results"])
        url = body["next"]
        pages += 1
        assert pages < 100, "pagination does not terminate"
    return seen


def test_products_walk_with_limit_7_has_no_gap_and_no_duplicate(api, catalog_empty):
    ids = {f"p{n:04d}" for n in range(250)}
    _store(
        product_build(product_id=i, name=f"Item {i}", category="walk", price_cents=100, stock=1) for i in ids
    )

    seen = _walk(api, "/products?limit=7")

    assert len(seen) == len(set(seen)), "a product appeared on two pages"
    assert set(seen) == ids
    assert len(seen) == 250


def test_category_walk_is_in_name_order_and_complete(api, make_product):
    category = "walk-category"
    names = [f"Widget {n:03d}" for n in range(250)]
    _store(
        product_build(product_id=f"w{n:04d}", name=name, category=category, price_cents=100, stock=1)
        for n, name in enumerate(reversed(names))
    )
    make_product(category="other-category")  # must not leak into this category

    seen = _walk(api, f"/categories/{category}?limit=7")

    assert len(seen) == 250 and len(set(seen)) == 250
    listed_names = [Product.get(i).name for i in seen[:20]]
    assert listed_names == sorted(listed_names)
    assert all(i.startswith("w") for i in seen)


def test_last_page_has_no_next_link(api, make_product):
    product = make_product(category="tiny")
    body = api.get("/categories/tiny?limit=5").json()
    assert [p["id"] for p in body["results"]] == [product.id]
    assert body["next"] is None


def test_product_detail_shows_price_as_decimal_string_and_stock(api, make_product):
    product = make_product(name="Phone", price_cents=19999, stock=42)
    body = api.get(f"/products/{product.id}").json()
    assert body["price"] == "199.99"
    assert body["currency"] == "USD"
    assert body["stock"] == 42
    assert body["name"] == "Phone"


def test_unknown_product_is_404_json(api):
    response = api.get("/products/no-such-product")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    assert response.json()["detail"]


def test_absurd_product_id_is_404_not_an_aws_error(api):
    response = api.get("/products/" + "x" * 5000)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_category_is_an_empty_page(api):
    body = api.get("/categories/nothing-here").json()
    assert body == {"results": [], "next": None}


@pytest.mark.parametrize("limit", ["0", "-1", "101", "abc", "1.5", "1e2"])
@pytest.mark.parametrize("path", ["/products", "/categories/books"])
def test_bad_limit_is_400(api, path, limit):
    response = api.get(path, {"limit": limit})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "limit" in response.json()["errors"]


def test_tampered_cursor_is_400(api, make_product):
    for _ in range(3):
        make_product(category="tamper")
    next_url = api.get("/categories/tamper?limit=1").json()["next"]
    cursor = next_url.split("cursor=")[1]
    response = api.get("/categories/tamper", {"limit": 1, "cursor": cursor[:-2] + "xy"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_cursor_from_another_category_is_400(api, make_product):
    for _ in range(3):
        make_product(category="cursor-a")
    cursor = api.get("/categories/cursor-a?limit=1").json()["next"].split("cursor=")[1]
    response = api.get("/categories/cursor-b", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_garbage_cursor_is_400(api):
    response = api.get("/products", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_put_to_products_is_405_json(api):
    response = api.put("/products", {"id": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_unacceptable_media_type_is_406_json(api):
    response = api.get("/products", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_unknown_path_is_404_json(api):
    response = api.get("/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"

"""Staff catalog endpoints over HTTP with real Cognito tokens (moto), real DynamoDB and real S3."""

import pytest
from django.conf import settings
from django.test import override_settings

from catalog.models import Product
from tests.accounts.support import bearer
from tests.catalog.images_support import png_bytes, post_upload

STAFF_WRITES = [
    ("post", "/products", {"name": "X", "category": "c", "price": "1.00", "stock": 1}),
    ("patch", "/products/{id}", {"name": "Y"}),
    ("put", "/products/{id}", {"name": "Y"}),
    ("delete", "/products/{id}", None),
    ("post", "/products/{id}/stock", {"delta": 1}),
    ("get", "/products/{id}/stock", None),
    ("post", "/products/{id}/image", {"key": "products/{id}/abcdefghijklmnopqrstuvwx.png"}),
    ("post", "/uploads/sign", {"product_id": "{id}", "content_type": "image/png", "size": 10}),
]


def _call(api, method, path, body, product_id, **headers):
    path = path.format(id=product_id)
    if isinstance(body, dict):
        body = {k: v.format(id=product_id) if isinstance(v, str) else v for k, v in body.items()}
    return getattr(api, method)(path, body, format="json", **headers)


@pytest.fixture
def staff(staff_token):
    return bearer(staff_token)


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), STAFF_WRITES)
def test_anonymous_caller_gets_401_with_a_bearer_challenge(api, make_product, method, path, body):
    product = make_product(stock=5)
    response = _call(api, method, path, body, product.id)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Product.get(product.id, consistent_read=True).stock == 5


@pytest.mark.parametrize(("method", "path", "body"), STAFF_WRITES)
def test_customer_token_on_a_staff_endpoint_is_403(api, make_product, customer_token, method, path, body):
    product = make_product(name="Untouched", stock=5)
    response = _call(api, method, path, body, product.id, **bearer(customer_token))
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    stored = Product.get(product.id, consistent_read=True)
    assert (stored.name, stored.stock, stored.archived) == ("Untouched", 5, False)


# --- create ----------------------------------------------------------------------------------


def test_staff_create_answers_201_with_location_and_version_etag(api, staff):
    response = api.post(
        "/products",
        {"name": "Desk lamp", "category": "api-lamps", "price": "39.90", "stock": 12, "description": "Warm"},
        format="json",
        **staff,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(f"/products/{body['id']}")
    assert response["ETag"] == '"1"'
    assert "no-store" in response["Cache-Control"]
    assert (body["price"], body["stock"], body["version"], body["image_url"]) == ("39.90", 12, 1, None)
    assert Product.get(body["id"], consistent_read=True).price_cents == 3990
    # A customer sees it in the listing of its category.
    assert [p["id"] for p in api.get("/categories/api-lamps").json()["results"]] == [body["id"]]


def test_staff_create_with_an_existing_id_is_409(api, staff, make_product):
    product = make_product()
    response = api.post(
        "/products",
        {"id": product.id, "name": "Dup", "category": "c", "price": "1.00", "stock": 1},
        format="json",
        **staff,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "product_exists"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "1.999"),
        ("price", "-0.01"),
        ("price", "abc"),
        ("price", 1.005),
        ("stock", -1),
        ("stock", 1.5),
        ("stock", "2.0"),
        ("stock", True),
        ("stock", "ten"),
        ("currency", "EUR"),
        ("category", "a/b"),
        ("id", "no spaces"),
    ],
)
def test_staff_create_rejects_bad_fields(api, staff, field, value):
    body = {"name": "Bad", "category": "api-bad", "price": "1.00", "stock": 1, field: value}
    response = api.post("/products", body, format="json", **staff)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


# --- edit with If-Match ----------------------------------------------------------------------


def test_patch_with_the_current_version_changes_the_product(api, staff, make_product):
    product = make_product(name="Old", price_cents=1000)
    response = api.patch(
        f"/products/{product.id}",
        {"name": "New", "price": "12.50"},
        format="json",
        HTTP_IF_MATCH='"1"',
        **staff,
    )
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert (response.json()["name"], response.json()["price"], response.json()["version"]) == (
        "New",
        "12.50",
        2,
    )


def test_patch_with_a_stale_version_is_412_with_the_current_one(api, staff, make_product):
    product = make_product(name="Old")
    first = api.patch(f"/products/{product.id}", {"name": "A"}, format="json", HTTP_IF_MATCH='"1"', **staff)
    assert first.status_code == 200
    response = api.patch(
        f"/products/{product.id}", {"name": "B"}, format="json", HTTP_IF_MATCH='"1"', **staff
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert response.json()["version"] == 2
    assert Product.get(product.id, consistent_read=True).name == "A"


@pytest.mark.parametrize("if_match", ['W/"1"', '"1", "2"', "abc", '""'])
def test_patch_with_a_malformed_if_match_never_matches(api, staff, make_product, if_match):
    product = make_product(name="Old")
    response = api.patch(
        f"/products/{product.id}", {"name": "B"}, format="json", HTTP_IF_MATCH=if_match, **staff
    )
    assert response.status_code == 412
    assert Product.get(product.id, consistent_read=True).name == "Old"


def test_patch_without_if_match_is_428(api, staff, make_product):
    product = make_product(name="Old")
    response = api.patch(f"/products/{product.id}", {"name": "B"}, format="json", **staff)
    assert response.status_code == 428
    assert response.json()["code"] == "precondition_required"
    assert Product.get(product.id, consistent_read=True).name == "Old"


def test_form_edit_names_the_version_in_the_body(api, staff, make_product):
    product = make_product(name="Old")
    response = api.put(f"/products/{product.id}", {"name": "Form", "version": 1}, format="json", **staff)
    assert response.status_code == 200 and response.json()["version"] == 2
    response = api.put(f"/products/{product.id}", {"name": "Again", "version": 1}, format="json", **staff)
    assert response.status_code == 412


def test_patch_of_an_unknown_product_is_404(api, staff):
    response = api.patch("/products/api-nope", {"name": "B"}, format="json", HTTP_IF_MATCH='"1"', **staff)
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


def test_category_change_moves_the_product_between_listings(api, staff, make_product):
    product = make_product(name="Mover", category="api-from")
    response = api.patch(
        f"/products/{product.id}", {"category": "api-to"}, format="json", HTTP_IF_MATCH='"1"', **staff
    )
    assert response.status_code == 200
    assert api.get("/categories/api-from").json()["results"] == []
    assert [p["id"] for p in api.get("/categories/api-to").json()["results"]] == [product.id]


# --- stock -----------------------------------------------------------------------------------


def test_stock_delta_and_set_over_http(api, staff, make_product):
    product = make_product(stock=10)
    url = f"/products/{product.id}/stock"
    assert api.post(url, {"delta": -3}, format="json", **staff).json()["stock"] == 7
    assert api.post(url, {"set": 40, "expected": 7}, format="json", **staff).json()["stock"] == 40
    response = api.post(url, {"delta": -41}, format="json", **staff)
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["stock"]) == ("stock_below_zero", 40)


def test_a_count_set_after_a_sale_is_refused_with_the_current_stock(api, staff, make_product):
    """Staff counted 10 on the shelf; an order took 2 meanwhile: setting 12 would undo the sale."""
    product = make_product(stock=10)
    url = f"/products/{product.id}/stock"
    seen = api.get(url, **staff).json()["stock"]
    assert api.post(url, {"delta": -2}, format="json", **staff).status_code == 200  # the sale
    response = api.post(url, {"set": seen + 2, "expected": seen}, format="json", **staff)
    assert response.status_code == 409, response.content
    assert (response.json()["code"], response.json()["stock"]) == ("stock_changed", 8)
    assert Product.get(product.id, consistent_read=True).stock == 8
    again = api.post(url, {"set": 10, "expected": 8}, format="json", **staff)
    assert (again.status_code, again.json()["stock"]) == (200, 10)


def test_a_set_without_the_stock_it_was_counted_against_is_400(api, staff, make_product):
    product = make_product(stock=10)
    response = api.post(f"/products/{product.id}/stock", {"set": 40}, format="json", **staff)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert "expected" in response.json()["errors"]
    assert Product.get(product.id, consistent_read=True).stock == 10


@pytest.mark.parametrize(
    "body",
    [
        {"set": -1, "expected": 10},
        {"set": 2.5, "expected": 10},
        {"set": 2, "expected": -1},
        {"delta": 1.5},
        {"delta": "x"},
        {"delta": True},
        {"delta": 1, "expected": 10},
        {},
        {"delta": 1, "set": 2, "expected": 10},
    ],
)
def test_stock_rejects_negative_non_integer_or_ambiguous_input(api, staff, make_product, body):
    product = make_product(stock=10)
    response = api.post(f"/products/{product.id}/stock", body, format="json", **staff)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert Product.get(product.id, consistent_read=True).stock == 10


# --- archive and staff reads -----------------------------------------------------------------


def test_archive_hides_the_product_from_customers_but_not_from_staff(api, staff, make_product):
    product = make_product(category="api-archive")
    response = api.delete(f"/products/{product.id}", **staff)
    assert response.status_code == 200 and response.json()["archived"] is True

    assert api.get(f"/products/{product.id}").status_code == 404
    assert api.get("/categories/api-archive").json()["results"] == []
    staff_view = api.get(f"/products/{product.id}", **staff)
    assert staff_view.status_code == 200 and staff_view.json()["archived"] is True
    assert staff_view["ETag"] == '"2"'
    assert [p["id"] for p in api.get("/categories/api-archive", **staff).json()["results"]] == [product.id]


@override_settings(CATALOG_CACHE_SECONDS=60)
def test_staff_read_their_own_write_at_once_while_customers_may_see_the_cached_answer(
    api, staff, make_product
):
    product = make_product(name="Before")
    assert api.get(f"/products/{product.id}").json()["name"] == "Before"  # now cached for 60 s

    response = api.patch(
        f"/products/{product.id}", {"name": "After"}, format="json", HTTP_IF_MATCH='"1"', **staff
    )
    assert response.status_code == 200

    staff_read = api.get(f"/products/{product.id}", **staff)
    assert staff_read.json()["name"] == "After"
    assert "no-store" in staff_read["Cache-Control"]
    # The public answer is the cached one, within the documented bound.
    assert api.get(f"/products/{product.id}").json()["name"] == "Before"


# --- images ----------------------------------------------------------------------------------


def test_sign_upload_and_attach_then_customers_see_the_image_url(api, staff, make_product):
    product = make_product()
    body = png_bytes()
    signed = api.post(
        "/uploads/sign",
        {"product_id": product.id, "content_type": "image/png", "size": len(body)},
        format="json",
        **staff,
    )
    assert signed.status_code == 200, signed.content
    post_upload(signed.json(), body)

    response = api.post(
        f"/products/{product.id}/image", {"key": signed.json()["key"]}, format="json", **staff
    )

    assert response.status_code == 200, response.content
    image_url = response.json()["image_url"]
    assert image_url.startswith(f"{settings.PRODUCT_IMAGES_BASE_URL}/products/{product.id}/")
    assert api.get(f"/products/{product.id}").json()["image_url"] == image_url
    import requests

    assert requests.get(image_url, timeout=10).content == body  # served by the local S3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content_type": "image/gif", "size": 10}, "content_type"),
        ({"content_type": "text/html", "size": 10}, "content_type"),
        ({"content_type": "image/png", "size": 0}, "size"),
        ({"content_type": "image/png", "size": 4097}, "size"),
    ],
)
@override_settings(PRODUCT_IMAGE_MAX_BYTES=4096)
def test_sign_refuses_other_types_and_sizes_over_the_limit(api, staff, make_product, body, field):
    product = make_product()
    response = api.post("/uploads/sign", {"product_id": product.id, **body}, format="json", **staff)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_sign_for_an_unknown_product_is_404(api, staff):
    response = api.post(
        "/uploads/sign",
        {"product_id": "api-ghost", "content_type": "image/png", "size": 10},
        format="json",
        **staff,
    )
    assert response.status_code == 404


def test_attach_of_an_object_that_is_not_the_png_it_claims_is_400(api, staff, make_product):
    product = make_product()
    fake = b"GIF89a" + b"\x00" * 300
    signed = api.post(
        "/uploads/sign",
        {"product_id": product.id, "content_type": "image/png", "size": len(fake)},
        format="json",
        **staff,
    ).json()
    post_upload(signed, fake)
    response = api.post(f"/products/{product.id}/image", {"key": signed["key"]}, format="json", **staff)
    assert response.status_code == 400
    assert response.json()["code"] == "upload_content_mismatch"
    assert api.get(f"/products/{product.id}").json()["image_url"] is None


def test_attach_of_a_key_that_does_not_exist_is_400(api, staff, make_product):
    product = make_product()
    key = f"products/{product.id}/abcdefghijklmnopqrstuvwx.png"
    response = api.post(f"/products/{product.id}/image", {"key": key}, format="json", **staff)
    assert response.status_code == 400
    assert response.json()["code"] == "upload_not_found"


# --- the browsable API -----------------------------------------------------------------------


def _html(api, path, headers):
    response = api.get(path, HTTP_ACCEPT="text/html", **headers)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_browsable_api_shows_staff_the_create_edit_and_stock_forms(api, staff, make_product):
    product = make_product(name="Formed", price_cents=1250)
    product_page = _html(api, f"/products/{product.id}", staff)
    # The edit form, filled in with the product and the version it was read at.
    assert 'name="version"' in product_page and 'value="1"' in product_page
    assert 'value="Formed"' in product_page and 'value="12.50"' in product_page
    listing_page = _html(api, "/products", staff)
    assert 'name="price"' in listing_page and 'name="stock"' in listing_page
    assert 'name="delta"' in _html(api, f"/products/{product.id}/stock", staff)


def test_browsable_api_shows_no_staff_forms_to_customers(api, customer_token, make_product):
    product = make_product(name="Formed")
    page = _html(api, f"/products/{product.id}", bearer(customer_token))
    assert 'name="version"' not in page
    assert 'name="stock"' not in _html(api, "/products", {})


@override_settings(CATALOG_CACHE_SECONDS=1)
def test_customers_see_a_staff_write_within_the_cache_bound(api, staff, make_product):
    import time

    product = make_product(name="Before")
    assert api.get(f"/products/{product.id}").json()["name"] == "Before"
    response = api.patch(
        f"/products/{product.id}", {"name": "After"}, format="json", HTTP_IF_MATCH='"1"', **staff
    )
    written = time.monotonic()
    assert response.status_code == 200
    while True:
        asked = time.monotonic()  # a stale answer is allowed only to a read asked within the bound
        if api.get(f"/products/{product.id}").json()["name"] == "After":
            break
        assert asked - written < 1.0, "a public read was older than CATALOG_CACHE_SECONDS"
        time.sleep(0.05)


# --- what each staff write costs in AWS calls (the app's own per-request counter) ------------


def test_each_staff_write_is_one_conditional_dynamodb_write(api, staff, make_product):
    product = make_product(stock=10)
    writes = [
        ("post", "/products", {"name": "Budget", "category": "api-budget", "price": "1.00", "stock": 1}, {}),
        ("patch", f"/products/{product.id}", {"name": "Cheap"}, {"HTTP_IF_MATCH": '"1"'}),
        ("post", f"/products/{product.id}/stock", {"delta": -1}, {}),
        ("post", f"/products/{product.id}/stock", {"set": 5, "expected": 9}, {}),
        ("delete", f"/products/{product.id}", None, {}),
    ]
    for method, path, body, headers in writes:
        response = getattr(api, method)(path, body, format="json", **headers, **staff)
        assert response.status_code in (200, 201), response.content
        # Besides the one write: the staff group's re-check at Cognito (accounts/staff_check.py).
        assert "dynamodb=1" in response["X-AWS-Calls"].split(", "), (method, path, response["X-AWS-Calls"])


def test_signing_is_local_and_attaching_checks_the_object_once(api, staff, make_product):
    product = make_product()
    body = png_bytes()
    sign = api.post(
        "/uploads/sign",
        {"product_id": product.id, "content_type": "image/png", "size": len(body)},
        format="json",
        **staff,
    )
    # The product exists; the signature is computed locally. (The first staff write of a caller
    # also re-checks their group at Cognito: accounts/staff_check.py.)
    assert sign["X-AWS-Calls"].removeprefix("cognito-idp=1, ") == "dynamodb=1"
    post_upload(sign.json(), body)
    attach = api.post(f"/products/{product.id}/image", {"key": sign.json()["key"]}, format="json", **staff)
    assert attach.status_code == 200
    # GetItem + UpdateItem; HeadObject, the ranged GetObject and the tag.
    assert attach["X-AWS-Calls"] == "dynamodb=2, s3=3"

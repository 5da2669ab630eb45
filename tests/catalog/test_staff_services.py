"""Staff catalog writes at the service level, against the session's real DynamoDB and S3 servers."""

import pytest
from django.conf import settings
from django.test import override_settings

from catalog import images
from catalog.errors import (
    PreconditionFailed,
    ProductExists,
    ProductNotFound,
    StockBelowZero,
    UploadContentMismatch,
    UploadKeyInvalid,
    UploadNotFound,
    UploadTooLarge,
    UploadTypeNotAllowed,
)
from catalog.models import Product
from catalog.selectors import product_get, products_by_category, products_get_many, products_page
from catalog.services import (
    product_archive,
    product_create,
    product_image_attach,
    product_stock_change,
    product_update,
)
from cloudcart import aws
from tests.catalog.images_support import jpeg_bytes, png_bytes, post_upload


def _create(**overrides) -> Product:
    fields = {"product_id": None, "name": "Lamp", "category": "svc-home", "price_cents": 1999, "stock": 5}
    return product_create(**{**fields, **overrides})


def _tags(key: str) -> dict[str, str]:
    tags = aws.client("s3").get_object_tagging(Bucket=settings.PRODUCT_IMAGES_BUCKET, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tags}


# --- create and edit -----------------------------------------------------------------------------


def test_create_generates_an_id_and_starts_at_version_1():
    product = _create()
    stored = product_get(product_id=product.id, consistent=True)
    assert len(product.id) == 16
    assert stored.version == 1 and stored.archived is False
    assert stored.currency == settings.SHOP_CURRENCY


def test_create_with_an_existing_id_is_refused_and_keeps_the_first(make_product):
    existing = make_product(name="First", stock=3)
    with pytest.raises(ProductExists):
        _create(product_id=existing.id, name="Second", stock=99)
    stored = product_get(product_id=existing.id, consistent=True)
    assert (stored.name, stored.stock) == ("First", 3)


def test_update_bumps_the_version_and_a_stale_version_is_refused_with_the_current_one(make_product):
    product = make_product(price_cents=1000)
    updated = product_update(product_id=product.id, expected_version=1, changes={"price_cents": 1250})
    assert updated.version == 2 and updated.price_cents == 1250

    with pytest.raises(PreconditionFailed) as caught:
        product_update(product_id=product.id, expected_version=1, changes={"price_cents": 1})
    assert caught.value.extra == {"version": 2}
    assert product_get(product_id=product.id, consistent=True).price_cents == 1250


def test_update_of_a_product_stored_without_a_version_accepts_version_1(make_product):
    product = make_product()
    Product(id=product.id).update(actions=[Product.version.remove()])  # as written before versions
    updated = product_update(product_id=product.id, expected_version=1, changes={"name": "Renamed"})
    assert updated.version == 2 and updated.name == "Renamed"


def test_update_of_a_missing_product_is_not_found():
    with pytest.raises(ProductNotFound):
        product_update(product_id="svc-missing", expected_version=1, changes={"name": "x"})


def test_category_and_name_changes_move_the_product_in_the_category_index(make_product):
    a = make_product(name="Alpha", category="svc-move-a")
    b = make_product(name="Bravo", category="svc-move-b")
    make_product(name="Charlie", category="svc-move-b")

    product_update(product_id=a.id, expected_version=1, changes={"category": "svc-move-b", "name": "Zulu"})
    product_update(product_id=b.id, expected_version=1, changes={"name": "Delta"})

    assert products_by_category(category="svc-move-a", limit=10).items == []
    names = [p.name for p in products_by_category(category="svc-move-b", limit=10).items]
    assert names == ["Charlie", "Delta", "Zulu"]


# --- stock ---------------------------------------------------------------------------------------


def test_stock_delta_and_set(make_product):
    product = make_product(stock=10)
    assert product_stock_change(product_id=product.id, delta=-3).stock == 7
    assert product_stock_change(product_id=product.id, delta=5).stock == 12
    assert product_stock_change(product_id=product.id, set_to=40, expected=12).stock == 40
    # Stock is its own counter: it never changes the version a pending edit names.
    assert product_get(product_id=product.id, consistent=True).version == 1


def test_stock_below_zero_is_refused_and_changes_nothing(make_product):
    product = make_product(stock=2)
    with pytest.raises(StockBelowZero) as caught:
        product_stock_change(product_id=product.id, delta=-3)
    assert caught.value.extra == {"stock": 2}
    assert product_get(product_id=product.id, consistent=True).stock == 2
    assert product_stock_change(product_id=product.id, delta=-2).stock == 0


def test_stock_change_of_a_missing_product_creates_nothing():
    with pytest.raises(ProductNotFound):
        product_stock_change(product_id="svc-no-stock", delta=5)
    with pytest.raises(ProductNotFound):
        product_stock_change(product_id="svc-no-stock", set_to=5, expected=0)
    with pytest.raises(ProductNotFound):
        product_get(product_id="svc-no-stock", include_archived=True)


# --- archive -------------------------------------------------------------------------------------


def test_archived_product_leaves_every_customer_read_but_staff_still_see_it(make_product):
    kept = make_product(name="Kept", category="svc-archive")
    gone = make_product(name="Gone", category="svc-archive")

    archived = product_archive(product_id=gone.id)

    assert archived.archived is True and archived.version == 2
    with pytest.raises(ProductNotFound):
        product_get(product_id=gone.id)
    assert product_get(product_id=gone.id, include_archived=True).archived is True
    assert set(products_get_many(product_ids=[kept.id, gone.id])) == {kept.id}
    assert set(products_get_many(product_ids=[kept.id, gone.id], include_archived=True)) == {kept.id, gone.id}
    assert [p.id for p in products_by_category(category="svc-archive", limit=10).items] == [kept.id]
    staff_page = products_by_category(category="svc-archive", limit=10, include_archived=True)
    assert {p.id for p in staff_page.items} == {kept.id, gone.id}


def test_listing_pages_skip_archived_products_without_gaps(catalog_empty, make_product):
    products = [make_product(product_id=f"svc-page-{n:02d}") for n in range(12)]
    for product in products[::2]:
        product_archive(product_id=product.id)

    seen, cursor = [], None
    while True:
        page = products_page(limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen += [p.id for p in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(p.id for p in products[1::2])


# --- images --------------------------------------------------------------------------------------


def _uploaded(product_id: str, body: bytes, *, content_type: str = "image/png", sent_as: str | None = None):
    signed = images.image_upload_sign(product_id=product_id, content_type=content_type, size=len(body))
    post_upload(signed, body, content_type=sent_as)
    return signed.key


def test_signed_upload_is_for_a_fresh_key_under_the_products_prefix(make_product):
    product = make_product()
    signed = images.image_upload_sign(product_id=product.id, content_type="image/webp", size=1000)
    assert signed.key.startswith(f"products/{product.id}/") and signed.key.endswith(".webp")
    assert signed.fields["key"] == signed.key
    assert signed.fields["Content-Type"] == "image/webp"
    assert signed.expires_in == 600
    other = images.image_upload_sign(product_id=product.id, content_type="image/webp", size=1000)
    assert other.key != signed.key


def _body(key: str) -> bytes:
    return aws.client("s3").get_object(Bucket=settings.PRODUCT_IMAGES_BUCKET, Key=key)["Body"].read()


def test_attach_a_real_png_shows_a_copy_tagged_attached(make_product):
    product = make_product()
    key = _uploaded(product.id, png_bytes())

    attached = product_image_attach(product_id=product.id, key=key)

    assert attached.version == 2
    assert attached.image_key != key and attached.image_key.startswith(f"products/{product.id}/")
    assert attached.image_key.endswith(".png")
    assert _body(attached.image_key) == png_bytes()
    assert images.image_url(attached.image_key) == f"{settings.PRODUCT_IMAGES_BASE_URL}/{attached.image_key}"
    assert _tags(attached.image_key) == {images.STATE_TAG: images.ATTACHED}


def test_overwriting_the_upload_after_attaching_does_not_change_the_image_shown(make_product):
    product = make_product()
    signed = images.image_upload_sign(product_id=product.id, content_type="image/png", size=4096)
    post_upload(signed, png_bytes())
    shown = product_image_attach(product_id=product.id, key=signed.key).image_key

    post_upload(signed, b"<svg onload=alert(1)>" + b" " * 300)  # the form is still valid for minutes

    assert product_get(product_id=product.id, consistent=True).image_key == shown
    assert _body(shown) == png_bytes()


def test_replacing_an_image_keeps_the_old_object_tagged_replaced(make_product):
    product = make_product()
    first = product_image_attach(product_id=product.id, key=_uploaded(product.id, png_bytes())).image_key
    upload = _uploaded(product.id, jpeg_bytes(), content_type="image/jpeg")

    second = product_image_attach(product_id=product.id, key=upload).image_key

    assert second not in (first, upload) and second.endswith(".jpg")
    assert product_get(product_id=product.id, consistent=True).image_key == second
    assert _body(first) == png_bytes()  # still there for pages cached elsewhere
    assert _tags(first) == {images.STATE_TAG: images.REPLACED}
    assert _tags(second) == {images.STATE_TAG: images.ATTACHED}


def test_object_uploaded_with_another_content_type_despite_the_form_is_refused(make_product):
    product = make_product()
    key = _uploaded(product.id, png_bytes(), sent_as="text/html")
    with pytest.raises(UploadTypeNotAllowed):
        product_image_attach(product_id=product.id, key=key)
    assert product_get(product_id=product.id, consistent=True).image_key is None


def test_oversized_object_uploaded_despite_the_form_is_refused(make_product):
    product = make_product()
    with override_settings(PRODUCT_IMAGE_MAX_BYTES=4096):
        signed = images.image_upload_sign(product_id=product.id, content_type="image/png", size=4096)
        post_upload(signed, png_bytes(pad_to=4097))  # the policy says <= 4096; moto stores it anyway
        with pytest.raises(UploadTooLarge):
            product_image_attach(product_id=product.id, key=signed.key)
    assert product_get(product_id=product.id, consistent=True).image_key is None


def test_object_that_claims_png_but_is_not_one_is_refused(make_product):
    product = make_product()
    key = _uploaded(product.id, b"<html><script>alert(1)</script></html>" + b" " * 300)
    with pytest.raises(UploadContentMismatch):
        product_image_attach(product_id=product.id, key=key)


def test_jpeg_bytes_sent_as_png_are_refused(make_product):
    product = make_product()
    key = _uploaded(product.id, jpeg_bytes(), content_type="image/png")
    with pytest.raises(UploadContentMismatch):
        product_image_attach(product_id=product.id, key=key)


def test_key_of_another_product_is_refused_even_though_the_object_is_valid(make_product):
    product, other = make_product(), make_product()
    key = _uploaded(other.id, png_bytes())
    with pytest.raises(UploadKeyInvalid):
        product_image_attach(product_id=product.id, key=key)


@pytest.mark.parametrize(
    "key",
    [
        "elsewhere/x.png",
        "products/{id}",
        "products/{id}/../other/abcdefghijklmnopqrstuvwx.png",
        "products/{id}/nested/abcdefghijklmnopqrstuvwx.png",
        "products/{id}/abcdefghijklmnopqrstuvwx.gif",
        "products/{id}x/abcdefghijklmnopqrstuvwx.png",
    ],
)
def test_key_outside_the_products_prefix_is_refused(make_product, key):
    product = make_product()
    with pytest.raises(UploadKeyInvalid):
        product_image_attach(product_id=product.id, key=key.format(id=product.id))


def test_key_that_was_never_uploaded_is_refused(make_product):
    product = make_product()
    signed = images.image_upload_sign(product_id=product.id, content_type="image/png", size=100)
    with pytest.raises(UploadNotFound):
        product_image_attach(product_id=product.id, key=signed.key)


def test_object_whose_type_is_allowed_but_not_the_one_its_key_was_signed_for_is_refused(make_product):
    product = make_product()
    # Signed for a PNG (key ends .png), uploaded as a real JPEG that says so.
    key = _uploaded(product.id, jpeg_bytes(), content_type="image/png", sent_as="image/jpeg")
    with pytest.raises(UploadTypeNotAllowed):
        product_image_attach(product_id=product.id, key=key)


def test_a_real_webp_is_accepted(make_product):
    product = make_product()
    webp = b"RIFF" + (30).to_bytes(4, "little") + b"WEBPVP8 " + b"\x00" * 22
    key = _uploaded(product.id, webp, content_type="image/webp")
    assert _body(product_image_attach(product_id=product.id, key=key).image_key) == webp

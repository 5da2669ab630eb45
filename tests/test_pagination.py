"""Cursors are opaque and signed: tampering, forging or replaying elsewhere is refused."""

import pytest
from django.core import signing

from cloudcart.errors import InvalidCursor
from cloudcart.pagination import decode_cursor, encode_cursor, page_size

KEY = frozenset({"id"})


def test_cursor_round_trips():
    cursor = encode_cursor(listing="products", key={"id": "42"})
    assert decode_cursor(cursor, listing="products", key_names=KEY) == {"id": "42"}


def test_tampered_cursor_is_refused():
    cursor = encode_cursor(listing="products", key={"id": "42"})
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    with pytest.raises(InvalidCursor):
        decode_cursor(tampered, listing="products", key_names=KEY)


def test_cursor_of_another_listing_is_refused():
    cursor = encode_cursor(listing="category:books", key={"id": "1", "category": "books", "name_sort": "a#1"})
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, listing="category:home", key_names=frozenset({"id", "category", "name_sort"}))


def test_signed_cursor_with_wrong_key_shape_is_refused():
    forged = signing.dumps({"l": "products", "k": {"id": {"S": "1"}}}, salt="cloudcart.pagination.cursor")
    with pytest.raises(InvalidCursor):
        decode_cursor(forged, listing="products", key_names=KEY)


@pytest.mark.parametrize("raw", ["garbage", "a" * 5000, "....", "%00"])
def test_garbage_cursor_is_refused(raw):
    with pytest.raises(InvalidCursor):
        decode_cursor(raw, listing="products", key_names=KEY)


@pytest.mark.parametrize(("raw", "size"), [(None, 20), ("", 20), ("1", 1), ("100", 100), ("7", 7)])
def test_page_size_accepts_1_to_100(raw, size):
    assert page_size(raw) == size

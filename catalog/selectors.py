"""Catalog reads: one product, a page of all products, a page of one category.

Archived products are invisible to every read unless the caller asks for them
(`include_archived=True`: staff views). Cart pricing and checkout use these selectors too, so an
archived product in a cart shows as unavailable and cannot be checked out.
"""

from catalog.models import Product
from cloudcart.errors import ProductNotFound
from cloudcart.pagination import Page, decode_cursor, encode_cursor

PRODUCTS_LISTING = "products"


def _not_archived():
    # Items written before `archived` existed have no such attribute: they are on sale.
    return Product.archived.does_not_exist() | (Product.archived == False)  # noqa: E712


def product_get(*, product_id: str, consistent: bool = False, include_archived: bool = False) -> Product:
    try:
        product = Product.get(product_id, consistent_read=consistent)
    except Product.DoesNotExist:
        raise ProductNotFound() from None
    if product.archived and not include_archived:
        raise ProductNotFound()
    return product


def products_get_many(
    *, product_ids: list[str], consistent: bool = False, include_archived: bool = False
) -> dict[str, Product]:
    """Products by id in one batch read (PynamoDB splits it into BatchGetItem calls of 100)."""
    unique_ids = list(dict.fromkeys(product_ids))
    if not unique_ids:
        return {}
    return {
        p.id: p
        for p in Product.batch_get(unique_ids, consistent_read=consistent)
        if include_archived or not p.archived
    }


def _raw_key(key: dict[str, str]) -> dict:
    return {name: {"S": value} for name, value in key.items()}


def _page(results, *, limit: int, listing: str, key_names: frozenset[str]) -> Page:
    """Take `limit` items from an iterator asked for `limit + 1`: the extra one says if more exist.

    The next cursor is built from the last item returned, so a page never skips or repeats an
    item, and the last page has no cursor (DynamoDB alone would offer one more, empty page).
    """
    items = []
    has_more = False
    for item in results:
        if len(items) == limit:
            has_more = True
            break
        items.append(item)
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = encode_cursor(listing=listing, key={k: getattr(last, k) for k in key_names})
    return Page(items=items, next_cursor=next_cursor)


def products_page(*, limit: int, cursor: str | None = None, include_archived: bool = False) -> Page:
    """All products, in table order. One Scan of `limit + 1` items: O(page), not O(catalog)
    (plus the archived items the filter skips)."""
    start = decode_cursor(cursor, listing=PRODUCTS_LISTING, key_names=Product.TABLE_KEY) if cursor else None
    results = Product.scan(
        filter_condition=None if include_archived else _not_archived(),
        limit=limit + 1,
        last_evaluated_key=_raw_key(start) if start else None,
    )
    return _page(results, limit=limit, listing=PRODUCTS_LISTING, key_names=Product.TABLE_KEY)


def products_by_category(
    *, category: str, limit: int, cursor: str | None = None, include_archived: bool = False
) -> Page:
    """Products of one category by name, then id: a Query on the category index, never a Scan."""
    listing = f"category:{category}"
    key_names = Product.CATEGORY_INDEX_KEY
    start = decode_cursor(cursor, listing=listing, key_names=key_names) if cursor else None
    results = Product.category_index.query(
        category,
        filter_condition=None if include_archived else _not_archived(),
        limit=limit + 1,
        last_evaluated_key=_raw_key(start) if start else None,
    )
    return _page(results, limit=limit, listing=listing, key_names=key_names)

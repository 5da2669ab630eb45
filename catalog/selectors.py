"""Catalog reads: one product, a page of all products, a page of one category.

Archived products are invisible to every read unless the caller asks for them
(`include_archived=True`: staff views). Cart pricing and checkout use these selectors too, so an
archived product in a cart shows as unavailable and cannot be checked out.
"""

import logging

from catalog.cache import catalog_records_cached
from catalog.errors import ProductNotFound
from catalog.models import Product
from cloudcart import aws
from cloudcart.errors import ServiceUnavailable
from cloudcart.pagination import Page, decode_cursor, encode_cursor

logger = logging.getLogger(__name__)

PRODUCTS_LISTING = "products"
BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
# Unprocessed keys are retried up to this many calls in all, waiting 50, 100, 200, 400 ms before
# each retry, each wait jittered down to half of itself (0.4 to 0.75 s in all at worst).
BATCH_GET_ATTEMPTS = 5
BATCH_GET_BACKOFF_SECONDS = 0.05


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


# What a cart answer needs of a product: its price and name, its stock (the add's soft check).
CACHED_ATTRIBUTES = ["id", "name", "price_cents", "stock", "archived"]


def products_get_cached(*, product_ids: list[str]) -> dict[str, Product]:
    """Products by id (archived ones left out) from the process's bounded-stale cache: at most
    CATALOG_CACHE_SECONDS old, as the catalog pages (catalog/cache.py); the misses in one
    BatchGetItem. For answers that may lag the catalog that long (a cart's prices); never for
    checkout, which prices and takes stock from consistent reads. Only CACHED_ATTRIBUTES are set,
    and the products are shared between threads: read them, never change or save them."""
    return catalog_records_cached(
        keys=product_ids,
        load=lambda missing: products_get_many(product_ids=missing, attributes=CACHED_ATTRIBUTES),
    )


def products_get_many(
    *,
    product_ids: list[str],
    consistent: bool = False,
    include_archived: bool = False,
    attributes: list[str] | None = None,
) -> dict[str, Product]:
    """Products by id: BatchGetItem calls of up to 100 keys, unprocessed keys retried (bounded)."""
    unique_ids = list(dict.fromkeys(product_ids))
    if attributes is not None and not include_archived and "archived" not in attributes:
        attributes = [*attributes, "archived"]  # needed to leave archived products out
    products = {}
    for start in range(0, len(unique_ids), BATCH_GET_KEYS):
        keys = [{"id": {"S": product_id}} for product_id in unique_ids[start : start + BATCH_GET_KEYS]]
        for item in _batch_get(keys, consistent=consistent, attributes=attributes):
            product = Product.from_raw_data(item)
            if include_archived or not product.archived:
                products[product.id] = product
    return products


def _batch_get(keys: list[dict], *, consistent: bool, attributes: list[str] | None) -> list[dict]:
    """The products of one BatchGetItem of `keys` (cloudcart.aws.batch_get_items retries what
    DynamoDB leaves unprocessed); ServiceUnavailable (503 + Retry-After) when keys are still
    unprocessed after BATCH_GET_ATTEMPTS calls."""
    table = Product.Meta.table_name
    request = {"Keys": keys, "ConsistentRead": consistent}
    if attributes:
        names = {f"#a{n}": name for n, name in enumerate(attributes)}
        request |= {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
    found = aws.batch_get_items(
        {table: request}, attempts=BATCH_GET_ATTEMPTS, backoff_seconds=BATCH_GET_BACKOFF_SECONDS
    )
    if found is None:
        logger.warning("BatchGetItem on %s: keys still unprocessed after %d calls", table, BATCH_GET_ATTEMPTS)
        raise ServiceUnavailable("The catalog is busy; please retry shortly.")
    return found.get(table, [])


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

"""Catalog writes: staff edits (versioned), stock changes, archiving, images; seeding.

Every write is one conditional DynamoDB request, so concurrent writers (other staff, the order
worker's stock decrements) never lose an update and never need a lock of ours:
- field edits name the version they read (`version = :v`) and bump it: a stale edit is refused;
- stock changes are atomic counters (`ADD stock :d IF stock >= -:d`), independent of the version,
  so an edit never conflicts with orders being processed.
"""

import itertools
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from django.conf import settings
from pynamodb.exceptions import PutError, UpdateError

from catalog.errors import PreconditionFailed, ProductExists, StockBelowZero, StockChanged
from catalog.images import REPLACED, image_publish, image_state_set, image_verify
from catalog.models import Product, name_sort_key
from catalog.sample_data import SAMPLE_PRODUCTS
from catalog.selectors import product_get, products_get_many

CONDITION_FAILED = "ConditionalCheckFailedException"
# The fields a staff edit may change (stock has its own endpoint, the image its own check).
EDITABLE_FIELDS = ("name", "category", "description", "price_cents", "currency", "archived")

SYNTHETIC_CATEGORIES = ["electronics", "home", "books", "sports", "toys", "garden", "music", "office"]
SYNTHETIC_CHUNK = 500  # products per batch-writer task: bounded memory however large the count


def product_build(
    *,
    product_id: str,
    name: str,
    category: str,
    price_cents: int,
    stock: int,
    description: str = "",
    currency: str | None = None,
) -> Product:
    if not isinstance(price_cents, int) or price_cents < 0:
        raise ValueError("price_cents must be a non-negative integer")
    if not isinstance(stock, int) or stock < 0:
        raise ValueError("stock must be a non-negative integer")
    return Product(
        id=product_id,
        name=name,
        category=category,
        name_sort=name_sort_key(name=name, product_id=product_id),
        description=description,
        price_cents=price_cents,
        currency=currency or settings.SHOP_CURRENCY,
        stock=stock,
        updated_at=datetime.now(UTC),
        version=1,
        archived=False,
    )


def product_create_if_missing(product: Product) -> bool:
    """Store `product` unless its id exists: re-seeding never resets stock sold since. True if stored."""
    try:
        product.save(condition=Product.id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _version_bump():
    # SET, not ADD: ADD on an item stored before versions existed would make it 1 again.
    return Product.version.set((Product.version | 1) + 1)  # `|`: if_not_exists


def _condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == CONDITION_FAILED


def _version_condition(expected: int):
    # Products stored before versions existed have none: they are at version 1.
    if expected == 1:
        return Product.version.does_not_exist() | (Product.version == 1)
    return Product.version == expected


def product_create(
    *,
    product_id: str | None,
    name: str,
    category: str,
    price_cents: int,
    stock: int,
    description: str = "",
    currency: str | None = None,
) -> Product:
    """Store a new product (version 1); an id is generated when none is given. 409 if it exists."""
    product = product_build(
        product_id=product_id or secrets.token_hex(8),
        name=name,
        category=category,
        description=description,
        price_cents=price_cents,
        stock=stock,
        currency=currency,
    )
    if not product_create_if_missing(product):
        raise ProductExists()
    return product


def _update(*, product_id: str, actions: list, condition, expected_version: int | None) -> Product:
    """One conditional UpdateItem that returns the new item; 404 if the product is missing and
    412 (with the current version) if `expected_version` is stale."""
    condition = Product.id.exists() & condition if condition is not None else Product.id.exists()
    if expected_version is not None:
        condition &= _version_condition(expected_version)
    product = Product(id=product_id)
    try:
        product.update(actions=[*actions, Product.updated_at.set(datetime.now(UTC))], condition=condition)
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise
        current = product_get(product_id=product_id, consistent=True, include_archived=True)  # or 404
        if expected_version is not None and int(current.version) != expected_version:
            raise PreconditionFailed(extra={"version": int(current.version)}) from None
        raise
    return product


def product_update(*, product_id: str, expected_version: int | None, changes: dict) -> Product:
    """Apply staff `changes` (any of EDITABLE_FIELDS) if the product is still at `expected_version`.

    A new name also moves the product's place in its category (the index's range key follows),
    a new category moves it to that category's index partition: the GSI follows the item.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    actions = [getattr(Product, field).set(value) for field, value in changes.items()]
    if "name" in changes:
        actions.append(Product.name_sort.set(name_sort_key(name=changes["name"], product_id=product_id)))
    actions.append(_version_bump())
    return _update(product_id=product_id, actions=actions, condition=None, expected_version=expected_version)


def product_stock_change(
    *, product_id: str, delta: int | None = None, set_to: int | None = None, expected: int | None = None
) -> Product:
    """Add `delta` to the stock (refused below zero) or set it to `set_to` (>= 0), atomically.

    `ADD` is applied by DynamoDB to the current value, so it composes exactly with the order
    worker's own conditional decrements: nothing is read first, nothing can be lost. A set is a
    count made against the stock staff saw (`expected`): it applies only while the stock is still
    that, so a sale made since the count is never overwritten (StockChanged, with the stock now).
    """
    if (delta is None) == (set_to is None):
        raise ValueError("give exactly one of delta and set_to")
    if set_to is not None:
        if expected is None:
            raise ValueError("a set needs the stock it was counted against (expected)")
        if set_to < 0:
            raise StockBelowZero(extra={"stock": set_to})
        try:
            return _update(
                product_id=product_id,
                actions=[Product.stock.set(set_to)],
                condition=Product.stock == expected,
                expected_version=None,
            )
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise
            current = product_get(product_id=product_id, consistent=True, include_archived=True)
            raise StockChanged(extra={"stock": int(current.stock)}) from None
    condition = Product.stock >= -delta if delta < 0 else None
    try:
        return _update(
            product_id=product_id,
            actions=[Product.stock.add(delta)],
            condition=condition,
            expected_version=None,
        )
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise
        current = product_get(product_id=product_id, consistent=True, include_archived=True)
        raise StockBelowZero(extra={"stock": int(current.stock)}) from None


def product_archive(*, product_id: str, expected_version: int | None = None) -> Product:
    """Take the product out of the shop (listings, detail, carts, checkout); keep its item for the
    orders and carts that name it. Archiving an archived product changes nothing more."""
    return _update(
        product_id=product_id,
        actions=[Product.archived.set(True), _version_bump()],
        condition=None,
        expected_version=expected_version,
    )


def product_image_attach(*, product_id: str, key: str, expected_version: int | None = None) -> Product:
    """Point the product at an uploaded image once the object itself passed every check.

    What the product shows is a copy of the checked version under a key no form can write. The
    replaced image stays in S3, tagged `replaced`: pages cached elsewhere may still show it, and
    the bucket's lifecycle rule removes it later. The write is conditional on the version read
    here, so the image marked replaced is exactly the one this write replaced.
    """
    current = product_get(product_id=product_id, consistent=True, include_archived=True)  # 404 first
    if expected_version is not None and int(current.version) != expected_version:
        raise PreconditionFailed(extra={"version": int(current.version)})
    etag = image_verify(product_id=product_id, key=key)
    published = image_publish(product_id=product_id, key=key, etag=etag)
    product = _update(
        product_id=product_id,
        actions=[Product.image_key.set(published), _version_bump()],
        condition=None,
        expected_version=int(current.version),
    )
    if current.image_key:
        image_state_set(key=current.image_key, state=REPLACED)
    return product


def products_seed_sample() -> int:
    """Load the sample catalog; return how many products were new."""
    created = 0
    for product_id, name, category, description, price_cents, stock in SAMPLE_PRODUCTS:
        product = product_build(
            product_id=product_id,
            name=name,
            category=category,
            description=description,
            price_cents=price_cents,
            stock=stock,
        )
        created += product_create_if_missing(product)
    return created


def _synthetic_products(start: int, stop: int) -> Iterator[Product]:
    for n in range(start, stop):
        product_id = f"syn-{n:07d}"
        yield product_build(
            product_id=product_id,
            name=f"Synthetic product {n:07d}",
            category=SYNTHETIC_CATEGORIES[n % len(SYNTHETIC_CATEGORIES)],
            description="Generated for load and scale tests.",
            price_cents=100 + (n * 7919) % 100_000,
            stock=100,
        )


def _write_chunk(start: int, stop: int) -> int:
    """Store the chunk's products that do not exist yet; returns how many ids the chunk covered.

    BatchWriteItem cannot be conditional and a put replaces the whole item, so the ids that exist
    are read first (keys only) and left alone: seeding again never resets a product's stock or
    price. (Only a product created in the milliseconds between that read and the write could
    still be replaced, with the same synthetic values.)
    """
    products = list(_synthetic_products(start, stop))
    existing = products_get_many(
        product_ids=[p.id for p in products], consistent=True, include_archived=True, attributes=["id"]
    )
    with Product.batch_write() as batch:
        for product in products:
            if product.id not in existing:
                batch.save(product)
    return stop - start


def products_seed_synthetic(
    *, count: int, threads: int = 4, progress: Callable[[int], None] | None = None
) -> int:
    """Write `count` synthetic products (ids syn-0000001...) with batch writes; idempotent.

    Chunks are written by a few threads with at most two chunks in flight per thread, so memory
    stays flat for 100k products and more.
    """
    chunks = (
        (start, min(start + SYNTHETIC_CHUNK, count + 1)) for start in range(1, count + 1, SYNTHETIC_CHUNK)
    )
    written = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending = set()
        for chunk in itertools.chain(chunks, [None]):
            if chunk is not None:
                pending.add(pool.submit(_write_chunk, *chunk))
            while pending and (chunk is None or len(pending) >= 2 * threads):
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    written += future.result()
                    if progress:
                        progress(written)
    return written

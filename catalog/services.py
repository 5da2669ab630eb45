"""Catalog writes: creating products and seeding the sample and synthetic catalogs."""

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from django.conf import settings
from pynamodb.exceptions import PutError

from catalog.models import Product, name_sort_key
from catalog.sample_data import SAMPLE_PRODUCTS

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
    with Product.batch_write() as batch:
        for product in _synthetic_products(start, stop):
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

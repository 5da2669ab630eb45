"""Seeding: the sample catalog is idempotent and never resets stock; synthetic seeding counts right."""

from django.core.management import call_command

from catalog.models import Product
from catalog.sample_data import SAMPLE_PRODUCTS
from catalog.services import products_seed_sample, products_seed_synthetic


def test_sample_catalog_meets_the_brief(catalog_empty):
    products_seed_sample()
    products = list(Product.scan())
    assert len(products) >= 12
    assert len({p.category for p in products}) >= 3
    assert Product.get("1").category == "electronics"


def test_seeding_twice_creates_nothing_new_and_keeps_stock(catalog_empty):
    first = products_seed_sample()
    product = Product.get("1")
    product.update(actions=[Product.stock.set(3)])

    second = products_seed_sample()

    assert first == len(SAMPLE_PRODUCTS)
    assert second == 0
    assert Product.get("1", consistent_read=True).stock == 3
    assert Product.count() == len(SAMPLE_PRODUCTS)


def test_synthetic_seed_writes_exactly_count_and_is_idempotent(catalog_empty):
    progress = []
    written = products_seed_synthetic(count=1234, threads=3, progress=progress.append)
    products_seed_synthetic(count=1234, threads=3)

    assert written == 1234
    assert progress[-1] == 1234
    assert Product.count() == 1234
    assert Product.get("syn-0001234").price_cents >= 100


def test_seed_command_reports_progress(catalog_empty, capsys):
    call_command("seed_products", "--count", "600")
    out = capsys.readouterr().out
    assert "600/600" in out
    assert Product.count() == len(SAMPLE_PRODUCTS) + 600


def test_synthetic_seed_never_overwrites_an_existing_products_stock_or_price(catalog_empty):
    products_seed_synthetic(count=10, threads=2)
    sold = Product.get("syn-0000004")
    sold.update(actions=[Product.stock.set(1), Product.price_cents.set(4242)])

    call_command("seed_products", "--count", "10")

    again = Product.get("syn-0000004", consistent_read=True)
    assert (again.stock, again.price_cents) == (1, 4242)
    assert Product.get("syn-0000005", consistent_read=True).stock == 100
    assert Product.count() == len(SAMPLE_PRODUCTS) + 10

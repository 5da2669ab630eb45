"""The Product model and its category index on the real moto server."""

from catalog.models import Product


def test_product_round_trips_with_integer_cents(make_product):
    stored = make_product(price_cents=19999, stock=3)
    loaded = Product.get(stored.id, consistent_read=True)
    assert loaded.price_cents == 19999
    assert isinstance(loaded.price_cents, int)
    assert loaded.stock == 3


def test_category_index_query_returns_only_that_category_in_name_order(make_product):
    for name in ["banana", "Apple", "cherry"]:
        make_product(name=name, category="fruit-idx")
    make_product(name="aardvark", category="animals-idx")

    names = [p.name for p in Product.category_index.query("fruit-idx")]

    assert names == ["Apple", "banana", "cherry"]


def test_same_name_products_are_ordered_by_id(make_product):
    make_product(name="Twin", category="twins-idx", product_id="twin-b")
    make_product(name="Twin", category="twins-idx", product_id="twin-a")

    ids = [p.id for p in Product.category_index.query("twins-idx")]

    assert ids == ["twin-a", "twin-b"]

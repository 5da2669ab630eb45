"""The catalog read cache: bounded staleness, the off switch, ETag/304, never on cart/checkout reads."""

import threading
import time

import pytest

from catalog.cache import FAILURE_HOLD_SECONDS, REFRESH_AFTER, SLOW_READ_SECONDS, catalog_json_cached
from catalog.models import Product
from catalog.selectors import product_get, products_get_many

BOUND = 1.5  # seconds: short, so the refresh test sleeps briefly, long enough not to flake


@pytest.fixture
def cache_on(settings):
    settings.CATALOG_CACHE_SECONDS = BOUND


@pytest.fixture
def cache_off(settings):
    settings.CATALOG_CACHE_SECONDS = 0


def _reprice(product: Product, cents: int) -> None:
    product.update(actions=[Product.price_cents.set(cents)])


def _price(api, product: Product) -> str:
    response = api.get(f"/products/{product.id}")
    assert response.status_code == 200
    return response.json()["price"]


def test_product_is_served_from_cache_within_the_bound_and_fresh_after_it(api, make_product, cache_on):
    product = make_product(price_cents=1000)
    assert _price(api, product) == "10.00"

    _reprice(product, 2000)
    assert _price(api, product) == "10.00", "within the bound the cached answer is served"

    time.sleep(BOUND + 0.2)
    assert _price(api, product) == "20.00", "after the bound the product is read again"


def test_category_page_is_cached_within_the_bound(api, make_product, cache_on):
    first = make_product(name="Alpha", category="cache-cat")
    url = "/categories/cache-cat?limit=5"
    assert [p["id"] for p in api.get(url).json()["results"]] == [first.id]

    make_product(name="Beta", category="cache-cat")

    assert [p["id"] for p in api.get(url).json()["results"]] == [first.id]
    assert len(api.get(url + "&x=1").json()["results"]) == 2, "another URL is another entry"


def test_product_listing_is_cached_within_the_bound(api, catalog_empty, make_product, cache_on):
    make_product()
    assert len(api.get("/products").json()["results"]) == 1

    make_product()

    assert len(api.get("/products").json()["results"]) == 1


def test_zero_turns_the_cache_off(api, make_product, cache_off):
    product = make_product(price_cents=1000)
    assert _price(api, product) == "10.00"

    _reprice(product, 2000)

    assert _price(api, product) == "20.00"
    assert api.get(f"/products/{product.id}")["Cache-Control"] == "public, max-age=0"


def test_cache_control_max_age_is_what_is_left_of_the_bound(api, make_product, cache_on):
    product = make_product()
    response = api.get(f"/products/{product.id}")
    directives = dict(d.strip().partition("=")[::2] for d in response["Cache-Control"].split(","))
    assert "public" in directives
    assert 0 <= int(directives["max-age"]) <= BOUND


def test_matching_if_none_match_is_304_and_a_change_gives_a_new_etag(api, make_product, cache_off):
    product = make_product(price_cents=1000)
    url = f"/products/{product.id}"
    etag = api.get(url)["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    not_modified = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert api.get(url, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304, "weak comparison"
    assert api.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200

    _reprice(product, 2000)

    changed = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["price"] == "20.00"
    assert changed["ETag"] != etag


def test_listing_answers_304_from_the_cache(api, make_product, cache_on):
    make_product(category="etag-cat")
    url = "/categories/etag-cat"
    etag = api.get(url)["ETag"]
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_cart_and_checkout_reads_are_never_cached(api, make_product, cache_on):
    """The selectors that cart pricing and checkout use read the table, whatever the cache holds."""
    product = make_product(price_cents=1000)
    assert _price(api, product) == "10.00"

    _reprice(product, 2000)

    assert _price(api, product) == "10.00", "the catalog view is still cached (the test is live)"
    assert product_get(product_id=product.id, consistent=True).price_cents == 2000
    assert products_get_many(product_ids=[product.id], consistent=True)[product.id].price_cents == 2000


def test_browsable_api_still_renders_html(api, make_product, cache_on):
    product = make_product()
    response = api.get(f"/products/{product.id}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert product.name in response.content.decode()


def test_concurrent_misses_of_one_key_read_dynamodb_once(cache_on):
    """When a hot entry expires, the threads asking for it wait for one read (no stampede)."""
    calls = []
    callers = _Arrivals(8)

    def load():
        calls.append(1)
        callers.wait_all()  # the read is still running when every other caller asks
        return {"n": len(calls)}

    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                callers.arrive(lambda: catalog_json_cached(key="stampede", load=load))
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert {r.body for r in results} == {b'{"n":1}'}


def test_cart_answers_price_within_the_bound_and_checkout_from_the_table(api, make_product, settings):
    settings.CATALOG_CACHE_SECONDS = 600  # the whole test runs inside the bound
    product = make_product(price_cents=1000)
    cart_id = api.post("/cart", {"id": product.id, "qty": 1}, format="json").json()["id"]

    _reprice(product, 2000)

    # Within the bound the cart may show the price it read, as the catalog pages may...
    response = api.get("/cart", HTTP_X_CART_ID=cart_id)
    assert response.json()["items"][0]["unit_price"] == "10.00", "the cart's price came from the cache"
    assert "public" not in response.get("Cache-Control", ""), "a cart is never shared by caches"
    # ...but checkout re-prices from a consistent read of the table: the old total is refused.
    refused = api.post("/checkout", {"total": "10.00"}, format="json", HTTP_X_CART_ID=cart_id)
    assert refused.status_code == 409 and refused.json()["code"] == "total_mismatch"
    assert refused.json()["total"] == "20.00"


def _wait_for(condition, *, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_an_entry_past_half_its_life_is_served_and_reread_in_the_background(cache_on):
    calls = []

    def load():
        calls.append(1)
        return {"n": len(calls)}

    first = catalog_json_cached(key="refresh-ahead", load=load)
    time.sleep(BOUND * REFRESH_AFTER + 0.1)

    served = catalog_json_cached(key="refresh-ahead", load=load)

    assert served.body == first.body, "the reader got the current entry without waiting for a read"
    assert _wait_for(lambda: catalog_json_cached(key="refresh-ahead", load=load).body == b'{"n":2}')
    assert len(calls) == 2, "one background read replaced the entry"


def test_errors_are_not_cached(api, make_product, cache_on):
    assert api.get("/products/cache-404").status_code == 404
    assert api.get("/products/cache-404").json()["code"] == "product_not_found"

    make_product(product_id="cache-404")

    assert api.get("/products/cache-404").status_code == 200, "a 404 was not kept in the cache"


# --- Failures do not queue: single flight, stale-if-error, the bulkhead ----------------------


def _aws_down():
    """What botocore raises when DynamoDB cannot be reached (a transient AWS error)."""
    from botocore.exceptions import EndpointConnectionError

    return EndpointConnectionError(endpoint_url="http://127.0.0.1:9")


class _Arrivals:
    """Counts callers on their way into the cache, so a load can outlast every one's arrival
    (state, not a sleep that a loaded machine may not honour)."""

    def __init__(self, n: int) -> None:
        self.n, self.count, self.lock, self.all = n, 0, threading.Lock(), threading.Event()

    def arrive(self, function):
        with self.lock:
            self.count += 1
            if self.count == self.n:
                self.all.set()
        return function()

    def wait_all(self) -> None:
        assert self.all.wait(60), f"{self.count} of {self.n} callers arrived"
        time.sleep(0.3)  # from arriving to waiting inside the cache is a few instructions


def _concurrently(function, n: int) -> list:
    """Run `function` in `n` threads at once; its results or the exceptions it raised."""
    barrier = threading.Barrier(n)
    outcomes = [None] * n

    def run(i):
        barrier.wait()
        try:
            outcomes[i] = function()
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_readers_share_one_failed_read(settings, cache_on):
    """The waiters get the failure of the read they waited for; none of them reads again."""
    settings.CATALOG_READ_SLOTS = 16
    calls = []
    callers = _Arrivals(8)

    def load():
        calls.append(1)
        callers.wait_all()  # the read is still running when every other caller asks
        raise _aws_down()

    outcomes = _concurrently(
        lambda: callers.arrive(lambda: catalog_json_cached(key="shared-failure", load=load)), 8
    )

    assert len(calls) == 1
    assert all(isinstance(o, Exception) for o in outcomes)


def test_a_failure_answers_its_key_briefly_without_a_new_read(cache_on):
    calls = []

    def load():
        calls.append(1)
        raise _aws_down()

    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017 - the first is botocore's, then 503s
            catalog_json_cached(key="held-failure", load=load)
    assert len(calls) == 1
    time.sleep(FAILURE_HOLD_SECONDS + 0.1)
    with pytest.raises(Exception):  # noqa: B017
        catalog_json_cached(key="held-failure", load=load)
    assert len(calls) == 2, "after the hold a reader tries DynamoDB again"


def test_the_last_good_answer_is_served_within_the_grace_period(settings, cache_on):
    settings.CATALOG_STALE_IF_ERROR_SECONDS = 1.0
    answers = iter([{"price": "10.00"}])

    def load():
        try:
            return next(answers)
        except StopIteration:
            raise _aws_down() from None

    good = catalog_json_cached(key="stale", load=load)
    time.sleep(BOUND + 0.1)  # no longer fresh

    stale = catalog_json_cached(key="stale", load=load)
    assert (stale.body, stale.stale) == (good.body, True)

    time.sleep(1.0)  # past the grace period
    with pytest.raises(Exception, match="Could not connect"):
        catalog_json_cached(key="stale", load=load)


def test_domain_errors_are_never_answered_with_a_stale_copy(cache_on):
    from catalog.errors import ProductNotFound

    outcomes = iter([{"id": "gone"}])

    def load():
        try:
            return next(outcomes)
        except StopIteration:
            raise ProductNotFound() from None

    catalog_json_cached(key="deleted", load=load)
    time.sleep(BOUND + 0.1)
    with pytest.raises(ProductNotFound):
        catalog_json_cached(key="deleted", load=load)


def test_readers_beyond_the_slots_get_the_stale_answer_at_once_while_reads_hang(settings, cache_on):
    settings.CATALOG_READ_SLOTS = 2
    release = threading.Event()
    answers = iter([{"v": 1}])

    def load():
        try:
            return next(answers)
        except StopIteration:
            release.wait(10)  # DynamoDB hangs
            raise _aws_down() from None

    catalog_json_cached(key="hung", load=load)
    time.sleep(BOUND + 0.1)
    hanging = [threading.Thread(target=lambda: _swallow(lambda: catalog_json_cached(key="hung", load=load)))]
    hanging += [
        threading.Thread(target=lambda: _swallow(lambda: catalog_json_cached(key="other", load=load)))
    ]
    for thread in hanging:
        thread.start()
    try:
        time.sleep(SLOW_READ_SECONDS + 0.2)  # both slots now wait on slow reads
        started = time.monotonic()
        served = catalog_json_cached(key="hung", load=load)
        assert time.monotonic() - started < 0.5, "did not wait for a slot"
        assert served.stale and served.body == b'{"v":1}'
        with pytest.raises(Exception, match="unavailable"):
            catalog_json_cached(key="never-read", load=load)  # nothing stale to give: 503 at once
    finally:
        release.set()
        for thread in hanging:
            thread.join()


def _swallow(function) -> None:
    try:
        function()
    except Exception:
        pass

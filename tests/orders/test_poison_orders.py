"""Poison orders end: publishes are counted, the reconciler backs off, is fair, and FAILS an order
whose budget is spent; an operator retries it. Called directly against the real local AWS."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product
from orders.models import Order
from orders.services import (
    LineRequest,
    order_fail,
    order_place,
    order_process,
    orders_reconcile,
)


def place(product, qty: int = 1) -> str:
    return order_place(lines=[LineRequest(product.id, qty)], client_total_cents=None, cart_id=None).order_id


def age(order_id: str, *, minutes: float) -> None:
    """Pretend the order was placed (and last published) `minutes` ago."""
    then = datetime.now(UTC) - timedelta(minutes=minutes)
    Order(order_id=order_id).update(actions=[Order.created_at.set(then), Order.republish_at.set(then)])


def order(order_id: str) -> Order:
    return Order.get(order_id, consistent_read=True)


def finals(caplog, order_id: str) -> list:
    return [
        r for r in caplog.records if getattr(r, "event", None) == "order_final" and r.order_id == order_id
    ]


@pytest.fixture
def budget(settings):
    settings.ORDERS_RECONCILE_AFTER_SECONDS = 60
    settings.ORDERS_MAX_PUBLISHES = 3


def test_checkout_counts_its_publish_on_the_order(make_product, orders_queue):
    order_id = place(make_product())
    stored = order(order_id)
    assert stored.publishes == 1
    assert stored.republish_at is None, "first due ORDERS_RECONCILE_AFTER_SECONDS after created_at"


def test_after_its_publishes_are_spent_the_order_fails_once_and_is_not_republished(
    make_product, orders_queue, budget, caplog
):
    caplog.set_level("INFO")
    order_id = place(make_product())
    orders_queue.purge()
    published = 1
    for _ in range(3):
        age(order_id, minutes=30)  # due again (and again) without waiting
        if order(order_id).status == Order.FAILED:
            break
        if order_id in orders_reconcile():
            published += 1
    assert published == 3
    assert order(order_id).publishes == 3

    age(order_id, minutes=300)
    assert order_id not in orders_reconcile()
    failed = order(order_id)
    assert (failed.status, failed.reason) == ("FAILED", "processing_failed")
    assert [c.status for c in failed.history] == ["PENDING", "FAILED"]
    assert len(finals(caplog, order_id)) == 1

    age(order_id, minutes=600)
    assert order_id not in orders_reconcile()
    assert order(order_id).publishes == 3
    assert orders_queue.order_ids().count(order_id) == 2, "checkout's publish was purged; two republishes"
    assert len(finals(caplog, order_id)) == 1, "logged as final exactly once"


def test_republishes_back_off(make_product, orders_queue, budget):
    order_id = place(make_product())
    age(order_id, minutes=30)
    assert order_id in orders_reconcile()

    republished = order(order_id)
    wait = (republished.republish_at - datetime.now(UTC)).total_seconds()
    assert 110 < wait <= 120, "the second republish waits twice the first one's 60 s"
    assert order_id not in orders_reconcile(older_than_seconds=0), "published recently: skipped"


def test_stuck_orders_do_not_starve_newer_ones(make_product, orders_queue, budget):
    product = make_product(stock=100)
    stuck = [place(product) for _ in range(3)]
    newer = place(product)
    # Older than anything other tests of the session left PENDING: they come first.
    for n, order_id in enumerate(stuck):
        age(order_id, minutes=3000 - n)
    age(newer, minutes=2000)

    first = orders_reconcile(limit=3)
    second = orders_reconcile(limit=3)

    assert first == stuck, "oldest first"
    assert second == [newer], "the stuck ones, just republished, leave room for the newer one"


def test_a_failed_order_stays_failed_when_its_message_comes_back(make_product, budget):
    product = make_product(stock=5)
    order_id = place(product)
    assert order_fail(order_id=order_id) is not None

    assert order_process(order_id=order_id) is None
    assert order(order_id).status == "FAILED"
    assert int(Product.get(product.id, consistent_read=True).stock) == 5
    assert order_fail(order_id=order_id) is None, "already final: nothing to do"


def test_worker_and_failing_never_both_win(make_product):
    product = make_product(stock=1000)
    order_ids = [place(product, 2) for _ in range(12)]
    barrier = threading.Barrier(2)
    outcomes: dict[str, list] = {order_id: [] for order_id in order_ids}

    def race(order_id: str, which: str) -> None:
        barrier.wait()
        if which == "worker":
            outcomes[order_id].append(order_process(order_id=order_id))
        else:
            outcomes[order_id].append(order_fail(order_id=order_id) and "FAILED")

    for order_id in order_ids:
        threads = [threading.Thread(target=race, args=(order_id, w)) for w in ("worker", "fail")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    confirmed = 0
    for order_id, results in outcomes.items():
        winners = [r for r in results if r]
        assert len(winners) == 1, (order_id, results)
        final = order(order_id)
        assert final.status == winners[0]
        assert [c.status for c in final.history] == ["PENDING", final.status]
        confirmed += final.status == "CONFIRMED"
    assert int(Product.get(product.id, consistent_read=True).stock) == 1000 - 2 * confirmed


def test_an_operator_retries_a_failed_order(make_product, orders_queue, budget, capsys):
    product = make_product(stock=5)
    order_id = place(product, 2)
    order_fail(order_id=order_id)
    orders_queue.purge()

    call_command("order_retry", order_id)

    retried = order(order_id)
    assert retried.status == "PENDING" and retried.reason is None
    assert retried.publishes == 1, "a fresh budget"
    assert [(c.status, c.reason) for c in retried.history][-1] == ("PENDING", "retried")
    assert orders_queue.order_ids() == [order_id], "published at once"
    assert order_process(order_id=order_id) == "CONFIRMED"
    assert int(Product.get(product.id, consistent_read=True).stock) == 3


def test_order_retry_refuses_orders_that_are_not_failed(make_product, orders_queue):
    order_id = place(make_product())
    order_process(order_id=order_id)

    with pytest.raises(CommandError):
        call_command("order_retry", order_id, "0" * 32)

    assert order(order_id).status == "CONFIRMED"

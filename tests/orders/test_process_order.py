"""The worker's service, `order_process`, and the reconciler, called directly against real moto.

The end-to-end tests (tests/e2e) run the same code in real Celery worker processes; these pin
down each outcome of the transaction one at a time.
"""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Product
from orders.models import Order
from orders.services import LineRequest, order_place, order_process, orders_reconcile


def place(*lines) -> str:
    placement = order_place(
        lines=[LineRequest(product.id, qty) for product, qty in lines], client_total_cents=None, cart_id=None
    )
    return placement.order_id


def stock(product) -> int:
    return int(Product.get(product.id, consistent_read=True).stock)


def test_confirm_takes_every_line_from_stock_in_one_go(make_product):
    a, b = make_product(stock=5), make_product(stock=3)
    order_id = place((a, 2), (b, 3))

    assert order_process(order_id=order_id) == "CONFIRMED"

    order = Order.get(order_id, consistent_read=True)
    assert order.status == "CONFIRMED"
    assert [change.status for change in order.history] == ["PENDING", "CONFIRMED"]
    assert order.history[1].at >= order.history[0].at
    assert (stock(a), stock(b)) == (3, 0)


def test_short_stock_rejects_the_whole_order_and_takes_nothing(make_product):
    a, b = make_product(stock=5), make_product(stock=3)
    order_id = place((a, 2), (b, 3))
    b.update(actions=[Product.stock.set(2)])  # sold elsewhere after checkout

    assert order_process(order_id=order_id) == "REJECTED"

    order = Order.get(order_id, consistent_read=True)
    assert (order.status, order.reason, list(order.reason_products)) == ("REJECTED", "out_of_stock", [b.id])
    assert [change.status for change in order.history] == ["PENDING", "REJECTED"]
    assert (stock(a), stock(b)) == (5, 2)


def test_a_deleted_product_rejects_the_order(make_product):
    a = make_product(stock=5)
    order_id = place((a, 1))
    a.delete()
    assert order_process(order_id=order_id) == "REJECTED"
    with pytest.raises(Product.DoesNotExist):
        Product.get(a.id, consistent_read=True)  # not recreated by the decrement


def test_processing_again_is_a_no_op(make_product):
    a = make_product(stock=5)
    order_id = place((a, 2))
    assert order_process(order_id=order_id) == "CONFIRMED"

    assert order_process(order_id=order_id) is None
    assert order_process(order_id=order_id) is None
    assert stock(a) == 3
    assert len(Order.get(order_id, consistent_read=True).history) == 2


def test_a_rejected_order_stays_rejected_when_stock_returns(make_product):
    a = make_product(stock=1)
    order_id = place((a, 1))
    a.update(actions=[Product.stock.set(0)])
    assert order_process(order_id=order_id) == "REJECTED"
    a.update(actions=[Product.stock.set(10)])

    assert order_process(order_id=order_id) is None
    assert Order.get(order_id, consistent_read=True).status == "REJECTED"
    assert stock(a) == 10


def test_unknown_order_is_dropped_without_error(caplog):
    assert order_process(order_id="0" * 32) is None
    assert "unknown order" in caplog.text


def test_each_final_order_is_logged_once_as_one_structured_line(make_product, caplog):
    a = make_product(stock=5, price_cents=1999)
    order_id = place((a, 2))
    caplog.set_level("INFO", logger="orders.services")
    order_process(order_id=order_id)
    order_process(order_id=order_id)

    finals = [record for record in caplog.records if getattr(record, "event", None) == "order_final"]
    assert len(finals) == 1
    assert (finals[0].order_id, finals[0].status, finals[0].total) == (order_id, "CONFIRMED", "39.98")
    assert finals[0].lines == [{"id": a.id, "qty": 2, "unit_price": "19.99"}]


def test_reconciler_republishes_only_stale_pending_orders(make_product, orders_queue):
    a = make_product(stock=100)
    stale, fresh, done = place((a, 1)), place((a, 1)), place((a, 1))
    order_process(order_id=done)
    then = datetime.now(UTC) - timedelta(minutes=10)
    for order_id in (stale, done):
        Order(order_id=order_id).update(actions=[Order.created_at.set(then), Order.republish_at.set(then)])
    orders_queue.purge()

    published = orders_reconcile(older_than_seconds=300)

    assert stale in published
    assert fresh not in published and done not in published
    assert stale in orders_queue.order_ids()


def test_a_ninety_nine_line_order_is_one_transaction_of_one_hundred_items(make_product):
    products = [make_product(stock=2, price_cents=100) for _ in range(99)]
    order_id = place(*[(p, 1) for p in products])

    assert order_process(order_id=order_id) == "CONFIRMED"  # DynamoDB's limit: 100 actions
    assert {stock(p) for p in products} == {1}

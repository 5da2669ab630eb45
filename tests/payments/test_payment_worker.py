"""The worker with a paid order (`order_process`, in process), the payments reconciler and cancel,
against localstripe over HTTP and DynamoDB Local."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from orders.capture import _stock_take
from orders.models import Order
from orders.services import OrderRetryLater, order_process, order_retry, orders_reconcile
from payments.services import payments_reconcile
from tests.hold_proxy import ANSWER_LATER, HoldingProxy
from tests.payments.support import CARD_OK, cancel_at_stripe, card, confirm_at_stripe, intent


def stock(product) -> int:
    return int(Product.get(product.id, consistent_read=True).stock)


def paid_order(api: APIClient, base: str, product, *, qty: int = 1) -> str:
    """Checked out and authorised through the API: PENDING, published."""
    order_id = api.post("/checkout", {"items": [{"id": product.id, "qty": qty}]}, format="json").json()["id"]
    response = api.post(f"/orders/{order_id}/payment", {"payment_method": card(base, CARD_OK)}, format="json")
    assert response.status_code == 202, response.json()
    return order_id


def test_the_last_unit_authorised_by_two_orders_one_is_captured_the_other_released(
    stripe_on, api, make_product
):
    product = make_product(stock=1, price_cents=700)
    first, second = (paid_order(api, stripe_on.url, product) for _ in range(2))

    outcomes = [order_process(order_id=first), order_process(order_id=second)]

    assert outcomes == ["CONFIRMED", "REJECTED"]
    won, lost = (Order.get(order_id, consistent_read=True) for order_id in (first, second))
    assert intent(stripe_on.url, won.payment.intent_id)["status"] == "succeeded"
    assert int(won.payment.amount_captured_cents) == 700
    assert (lost.reason, list(lost.reason_products)) == ("out_of_stock", [product.id])
    assert intent(stripe_on.url, lost.payment.intent_id)["status"] == "canceled"
    assert (lost.payment.status, int(lost.payment.amount_captured_cents or 0)) == ("canceled", 0)
    assert stock(product) == 0


def test_a_worker_killed_between_stock_and_capture_captures_once_on_redelivery(stripe_on, api, make_product):
    product = make_product(stock=5, price_cents=300)
    order_id = paid_order(api, stripe_on.url, product, qty=2)
    # What a worker killed right after its stock transaction leaves behind: stock taken, marked
    # on the order, still PENDING, nothing captured.
    assert _stock_take(Order.get(order_id, consistent_read=True)) is None
    marked = Order.get(order_id, consistent_read=True)
    assert (marked.status, marked.stock_taken_at is not None) == ("PENDING", True)
    assert intent(stripe_on.url, marked.payment.intent_id)["status"] == "requires_capture"

    assert order_process(order_id=order_id) == "CONFIRMED"  # the redelivery
    assert order_process(order_id=order_id) is None  # and a duplicate of it

    assert stock(product) == 3  # taken once
    done = Order.get(order_id, consistent_read=True)
    assert [c.status for c in done.history] == ["AWAITING_PAYMENT", "PENDING", "CONFIRMED"]
    assert intent(stripe_on.url, done.payment.intent_id)["latest_charge"]["captured"] is True


def test_a_capture_that_fails_gives_the_stock_back_and_rejects_the_order(stripe_on, api, make_product):
    product = make_product(stock=4)
    order_id = paid_order(api, stripe_on.url, product, qty=3)
    # The authorisation is gone by capture time (voided at Stripe, expired, disputed...).
    cancel_at_stripe(stripe_on.url, Order.get(order_id, consistent_read=True).payment.intent_id)

    assert order_process(order_id=order_id) == "REJECTED"

    order = Order.get(order_id, consistent_read=True)
    assert (order.status, order.reason) == ("REJECTED", "payment_failed")
    assert [c.status for c in order.history] == ["AWAITING_PAYMENT", "PENDING", "REJECTED"]
    assert int(order.payment.amount_captured_cents or 0) == 0
    assert stock(product) == 4  # given back in the same transaction as the status


def test_stripe_down_at_capture_retries_then_fails_keeping_the_stock_and_an_operator_retry_captures(
    stripe_down, api, make_product, settings
):
    down, up = stripe_down
    product = make_product(stock=5)
    order_id = paid_order(api, settings.STRIPE_API_BASE, product, qty=2)
    down()

    for _ in range(2):  # each delivery retries; nothing is captured, the stock is taken once
        with pytest.raises(OrderRetryLater):
            order_process(order_id=order_id)
    assert stock(product) == 3
    # Its publishes spent, the reconciler FAILs it, as any order whose processing keeps failing.
    Order(order_id=order_id).update(
        actions=[
            Order.publishes.set(settings.ORDERS_MAX_PUBLISHES),
            Order.republish_at.set(datetime.now(UTC) - timedelta(seconds=1)),
        ]
    )
    orders_reconcile(older_than_seconds=0)
    failed = Order.get(order_id, consistent_read=True)
    assert (failed.status, failed.reason) == ("FAILED", "processing_failed")
    up()
    assert intent(settings.STRIPE_API_BASE, failed.payment.intent_id)["status"] == "requires_capture"
    assert stock(product) == 3  # held for it, not lost

    order_retry(order_id=order_id)
    assert order_process(order_id=order_id) == "CONFIRMED"
    assert stock(product) == 3
    assert intent(settings.STRIPE_API_BASE, failed.payment.intent_id)["status"] == "succeeded"


def test_the_reconciler_moves_an_authorised_order_on_when_no_webhook_came(
    stripe_on, api, make_product, orders_queue
):
    order_id = api.post("/checkout", {"items": [{"id": make_product().id, "qty": 1}]}, format="json").json()[
        "id"
    ]
    intent_id = Order.get(order_id, consistent_read=True).payment.intent_id
    confirm_at_stripe(stripe_on.url, intent_id=intent_id, payment_method=card(stripe_on.url, CARD_OK))

    first = payments_reconcile(older_than_seconds=0)
    second = payments_reconcile(older_than_seconds=0)

    assert first.get("paid") == 1
    assert "paid" not in second
    assert Order.get(order_id, consistent_read=True).status == "PENDING"
    assert orders_queue.order_ids() == [order_id]


def test_an_order_unpaid_past_the_timeout_expires_and_its_intent_is_cancelled(
    settings, stripe_on, api, make_product
):
    order_id = api.post("/checkout", {"items": [{"id": make_product().id, "qty": 1}]}, format="json").json()[
        "id"
    ]
    settings.PAYMENT_TIMEOUT_SECONDS = 0

    assert payments_reconcile(older_than_seconds=0).get("expired", 0) >= 1

    order = Order.get(order_id, consistent_read=True)
    assert (order.status, order.reason, order.payment.status) == ("EXPIRED", "payment_timeout", "canceled")
    assert intent(stripe_on.url, order.payment.intent_id)["status"] == "canceled"
    late = api.post(
        f"/orders/{order_id}/payment", {"payment_method": card(stripe_on.url, CARD_OK)}, format="json"
    )
    assert late.status_code == 409 and late.json()["code"] == "order_not_payable"


def test_cancel_before_payment_and_before_capture_but_not_after(stripe_on, api, make_product):
    product = make_product(stock=5)
    unpaid = api.post("/checkout", {"items": [{"id": product.id, "qty": 1}]}, format="json").json()["id"]
    paid = paid_order(api, stripe_on.url, product)
    captured = paid_order(api, stripe_on.url, product)
    assert order_process(order_id=captured) == "CONFIRMED"
    stranger = APIClient()

    assert stranger.post(f"/orders/{unpaid}/cancel").status_code == 404
    for order_id in (unpaid, paid):
        response = api.post(f"/orders/{order_id}/cancel")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "CANCELLED"
        assert response.json()["payment"]["status"] == "canceled"
        assert intent(stripe_on.url, response.json()["payment"]["intent_id"])["status"] == "canceled"
    assert api.post(f"/orders/{paid}/cancel").status_code == 200  # again: the same answer
    assert order_process(order_id=paid) is None  # its message finds it cancelled
    refused = api.post(f"/orders/{captured}/cancel")
    assert refused.status_code == 409 and refused.json()["code"] == "order_not_cancellable"
    assert stock(product) == 4  # only the captured order's unit


def test_an_order_failed_by_the_reconciler_while_its_capture_is_in_flight_ends_confirmed(
    stripe_on, api, make_product, settings
):
    """The reconciler FAILs a PENDING order whose publishes are spent; the worker may be capturing
    it at that very moment. The money is captured, so the order is CONFIRMED, not left FAILED."""
    product = make_product(stock=3, price_cents=900)
    order_id = paid_order(api, stripe_on.url, product)
    capture = f"/v1/payment_intents/{Order.get(order_id, consistent_read=True).payment.intent_id}/capture"
    outcome = []
    with HoldingProxy(
        stripe_on.url, rule=lambda method, path, *_: ANSWER_LATER if path == capture else None
    ) as proxy:
        settings.STRIPE_API_BASE = proxy.url
        worker = threading.Thread(target=lambda: outcome.append(order_process(order_id=order_id)))
        worker.start()
        try:
            proxy.wait_held(1, timeout=30)  # captured at Stripe, the worker not yet told
            Order(order_id=order_id).update(
                actions=[
                    Order.publishes.set(settings.ORDERS_MAX_PUBLISHES),
                    Order.republish_at.set(datetime.now(UTC) - timedelta(seconds=1)),
                ]
            )
            orders_reconcile(older_than_seconds=0)
            assert Order.get(order_id, consistent_read=True).status == "FAILED"
        finally:
            proxy.release()
            worker.join(timeout=30)

    assert outcome == ["CONFIRMED"]
    order = Order.get(order_id, consistent_read=True)
    assert (order.status, order.reason) == ("CONFIRMED", None)
    assert [c.status for c in order.history] == ["AWAITING_PAYMENT", "PENDING", "FAILED", "CONFIRMED"]
    assert int(order.payment.amount_captured_cents) == 900
    assert stock(product) == 2
    assert order_process(order_id=order_id) is None  # a redelivery changes nothing

"""A real Celery worker SIGKILLed with paid orders in flight: one before its stock is taken, one
whose capture never reached Stripe, one captured at Stripe with the answer lost. A second worker
finishes each exactly once: stock taken once, one PaymentIntent captured once for the order's
amount, no transition twice.

The first worker reaches localstripe and DynamoDB Local through holding proxies
(tests/hold_proxy.py), so the kill lands at a known point of each order's path, chosen by state
(the proxies hold the calls), not by timing."""

import os
import signal

import pytest

from catalog.models import Product
from orders.models import Order
from tests.hold_proxy import ANSWER_LATER, HOLD, HoldingProxy
from tests.orders.support import wait_final
from tests.payments.support import CARD_OK, card, intent, intents_of_order
from tests.processes import CeleryProcess

# The first worker waits on held calls for as long as it lives: no timeout may end the call (and
# retry it) before the kill.
PATIENT = {"STRIPE_TIMEOUT_SECONDS": "60", "STRIPE_MAX_NETWORK_RETRIES": "0", "AWS_READ_TIMEOUT": "60"}


def _paid(api, base: str, product, *, qty: int) -> Order:
    """Checked out and authorised through the API: PENDING, published to the orders queue."""
    order_id = api.post("/checkout", {"items": [{"id": product.id, "qty": qty}]}, format="json").json()["id"]
    paid = api.post(f"/orders/{order_id}/payment", {"payment_method": card(base, CARD_OK)}, format="json")
    assert paid.status_code == 202, paid.json()
    return Order.get(order_id, consistent_read=True)


def _header(headers: dict, name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), "")


@pytest.mark.slow
def test_a_worker_killed_around_the_capture_takes_the_stock_and_captures_once_after_restart(
    stripe_on, api, make_product, orders_queue
):
    base = stripe_on.url
    product = make_product(stock=6, price_cents=1250)  # exactly the three orders' units
    captured_lost, capture_unsent, stock_unsent = (_paid(api, base, product, qty=2) for _ in range(3))
    capture_of = {
        order.order_id: f"/v1/payment_intents/{order.payment.intent_id}/capture"
        for order in (captured_lost, capture_unsent, stock_unsent)
    }

    def stripe_rule(method, path, headers, body):
        if path == capture_of[captured_lost.order_id]:
            return ANSWER_LATER  # Stripe captures; the worker never hears of it
        if path == capture_of[capture_unsent.order_id]:
            return HOLD  # the capture never reaches Stripe
        return None

    def dynamodb_rule(method, path, headers, body):
        stock_take = _header(headers, "X-Amz-Target").endswith(".TransactWriteItems")
        return HOLD if stock_take and stock_unsent.order_id.encode() in body else None

    with (
        HoldingProxy(base, rule=stripe_rule) as stripe_proxy,
        HoldingProxy(os.environ["AWS_ENDPOINT_URL_DYNAMODB"], rule=dynamodb_rule) as dynamodb_proxy,
    ):
        env = {"PAYMENTS_PROVIDER": "stripe", "STRIPE_API_BASE": stripe_proxy.url}
        first = CeleryProcess(
            "worker",
            concurrency=4,  # a thread to spare for anything else on the queues
            env={**env, **PATIENT, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_proxy.url},
            name="payments-killed",
        )
        try:
            stripe_proxy.wait_held(2, timeout=60)
            dynamodb_proxy.wait_held(1, timeout=60)
            # The state the kill leaves: two orders with their stock taken, one captured at Stripe.
            for order in (captured_lost, capture_unsent, stock_unsent):
                order.refresh(consistent_read=True)
                assert order.status == "PENDING"
            assert captured_lost.stock_taken_at and capture_unsent.stock_taken_at
            assert stock_unsent.stock_taken_at is None
            assert int(Product.get(product.id, consistent_read=True).stock) == 2
            assert intent(base, captured_lost.payment.intent_id)["status"] == "succeeded"
            assert intent(base, capture_unsent.payment.intent_id)["status"] == "requires_capture"
        finally:
            os.killpg(first.process.pid, signal.SIGKILL)  # the whole worker, mid-call
            first.process.wait()
            stripe_proxy.release()
            dynamodb_proxy.release()

        # Its messages come back after the visibility timeout, to a second worker.
        second = CeleryProcess("worker", concurrency=3, env=env, name="payments-restarted")
        try:
            orders = wait_final(capture_of, timeout=60)
        finally:
            second.stop()

    assert int(Product.get(product.id, consistent_read=True).stock) == 0  # each order's units once
    for order_id, capture in capture_of.items():
        order = orders[order_id]
        assert order.status == "CONFIRMED", (order_id, order.reason)
        assert [change.status for change in order.history] == ["AWAITING_PAYMENT", "PENDING", "CONFIRMED"]
        assert (order.payment.status, int(order.payment.amount_captured_cents)) == ("succeeded", 2500)
        (only,) = intents_of_order(base, order_id)  # one PaymentIntent per order
        assert (only["id"], only["status"], only["amount"]) == (order.payment.intent_id, "succeeded", 2500)
        assert only["latest_charge"]["captured"] is True
        # Captured exactly once at Stripe over both workers (a repeat is refused: not capturable).
        assert stripe_proxy.statuses("POST", capture).count(200) == 1, stripe_proxy.statuses("POST", capture)
    # The capture the first worker never heard of was tried again and found done.
    assert stripe_proxy.statuses("POST", capture_of[captured_lost.order_id]) == [200, 400]

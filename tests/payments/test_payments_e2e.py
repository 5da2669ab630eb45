"""Paying end to end through real processes: gunicorn and a Celery worker with PAYMENTS_PROVIDER=stripe,
localstripe with its webhook registered as `make run` registers it, DynamoDB Local and moto."""

import time

import pytest
import requests
from django.core.management import call_command

from catalog.models import Product
from orders.models import IdempotencyKey, Order
from payments.webhooks import EVENT_KEY_PREFIX
from tests.aws_env import free_port
from tests.orders.support import wait_final
from tests.payments.support import CARD_OK, card, intent, listed
from tests.processes import CeleryProcess, Gunicorn

STRIPE_ENV = {"PAYMENTS_PROVIDER": "stripe"}


@pytest.fixture(scope="module")
def paying_web(localstripe, local_aws):
    server = Gunicorn(free_port(), env=STRIPE_ENV, name="payments-web")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def paying_worker(localstripe, local_aws):
    process = CeleryProcess("worker", concurrency=1, env=STRIPE_ENV, name="payments-worker")
    yield process
    process.stop()


def _wait(check, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s")


def _succeeded_event_id(base: str, intent_id: str) -> str | None:
    for event in listed(base, "events"):
        if event["type"] == "payment_intent.succeeded" and event["data"]["object"]["id"] == intent_id:
            return event["id"]
    return None


@pytest.mark.slow
def test_checkout_pay_and_the_worker_confirms_with_the_amount_captured(
    stripe_on, paying_web, paying_worker, make_product, orders_queue
):
    call_command("stripe_local_webhook", url=f"{paying_web.url}/webhooks/stripe", wait=10)
    product = make_product(stock=4, price_cents=1599)
    session = requests.Session()

    placed = session.post(
        f"{paying_web.url}/checkout", json={"items": [{"id": product.id, "qty": 2}]}, timeout=30
    )
    assert placed.status_code == 202, placed.text
    order_id, payment = placed.json()["id"], placed.json()["payment"]
    assert (placed.json()["status"], payment["amount"]) == ("AWAITING_PAYMENT", "31.98")

    paid = session.post(
        f"{paying_web.url}/orders/{order_id}/payment",
        json={"payment_method": card(stripe_on.url, CARD_OK)},
        timeout=30,
    )
    assert paid.status_code == 202, paid.text
    assert paid.json()["status"] == "PENDING"

    order = _wait(
        lambda: (o := Order.get(order_id, consistent_read=True)).status == "CONFIRMED" and o,
        timeout=60,
        what="the order was not CONFIRMED",
    )
    assert int(order.payment.amount_captured_cents) == 3198
    at_stripe = intent(stripe_on.url, payment["intent_id"])
    assert (at_stripe["status"], at_stripe["amount"], at_stripe["latest_charge"]["captured"]) == (
        "succeeded",
        3198,
        True,
    )
    assert int(Product.get(product.id, consistent_read=True).stock) == 2
    shown = session.get(f"{paying_web.url}/orders/{order_id}", timeout=10).json()
    assert (shown["payment"]["amount_captured"], shown["payment"]["status"]) == ("31.98", "succeeded")
    assert "client_secret" not in shown["payment"]

    # localstripe signs and sends payment_intent.succeeded after the capture: verified with the
    # shared secret on the raw body, and recorded once.
    event_id = _wait(
        lambda: _succeeded_event_id(stripe_on.url, payment["intent_id"]),
        timeout=30,
        what="no succeeded event",
    )
    record = _wait(
        lambda: next(iter(IdempotencyKey.query(f"{EVENT_KEY_PREFIX}{event_id}", consistent_read=True)), None),
        timeout=30,
        what="the webhook was not handled",
    )
    assert '"handled"' in record.response_body
    assert [c.status for c in wait_final([order_id], timeout=120)[order_id].history] == [
        "AWAITING_PAYMENT",
        "PENDING",
        "CONFIRMED",
    ]

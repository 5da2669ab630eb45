"""Order notifications through real processes: gunicorn, Celery workers (the threads pool), moto's SNS,
SQS and SES over HTTP. Events are read from an SQS queue subscribed to the topic, e-mails from
moto's record of what SES accepted.

The orders of the first tests are all placed before their worker starts, so one of two buyers of
the last unit is rejected (both pass checkout's stock pre-check) and a message can be delivered
three times before anything processes it.
"""

import os
import signal
from collections import Counter

import pytest
import requests
from django.conf import settings

from orders.models import Order
from orders.tasks import process_order
from tests.notifications.support import (
    EventsInbox,
    SesStandIn,
    emails_to,
    markers,
    new_address,
    wait_emails,
    wait_marker,
    wait_notifications_drained,
)
from tests.orders.support import wait_final
from tests.processes import CeleryProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inbox(moto_server) -> EventsInbox:
    return EventsInbox()


def checkout(web, product, *, qty: int = 1, email: str | None = None) -> str:
    body = {"items": [{"id": product.id, "qty": qty}]}
    if email:
        body["email"] = email
    response = requests.post(f"{web.url}/checkout", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def event_types(inbox: EventsInbox, order_id: str) -> Counter:
    inbox.drain()
    return Counter(event["type"] for event in inbox.by_order[order_id])


@pytest.fixture(scope="module")
def placed(web, inbox, catalog_and_products):
    """Orders placed while no worker runs, then one worker processes them all."""
    lamp, phone, cable = catalog_and_products
    orders = {
        "buyer": (new_address(), None),
        "late_buyer": (new_address(), None),
        "thrice": (new_address(), None),
    }
    ids = {
        "buyer": checkout(web, lamp, email=orders["buyer"][0]),
        "late_buyer": checkout(web, lamp, email=orders["late_buyer"][0]),
        "thrice": checkout(web, phone, qty=2, email=orders["thrice"][0]),
        "guest": checkout(web, cable),
    }
    # Two more deliveries of the same order message, as SQS's at-least-once delivery may make.
    process_order.apply_async(args=[ids["thrice"]])
    process_order.apply_async(args=[ids["thrice"]])
    worker = CeleryProcess("worker", concurrency=2, name="e2e-notify-worker")
    try:
        final = wait_final(list(ids.values()), timeout=90)
        wait_notifications_drained(timeout=90)
    finally:
        worker.stop()
    return {"ids": ids, "emails": {k: v[0] for k, v in orders.items()}, "final": final}


@pytest.fixture(scope="module")
def catalog_and_products(moto_server):
    from catalog.models import Product
    from catalog.services import product_build

    products = []
    for name, price, stock in (("Last lamp", 4999, 1), ("Smartphone X", 19999, 10), ("Cable", 500, 10)):
        product = product_build(
            product_id=f"n-{os.urandom(5).hex()}",
            name=name,
            category="notify",
            price_cents=price,
            stock=stock,
        )
        product.save()
        products.append(product)
    assert Product.get(products[0].id).stock == 1
    return products


def test_a_confirmed_and_a_rejected_order_each_get_one_event_per_state_and_one_email(placed, inbox):
    ids, addresses, final = placed["ids"], placed["emails"], placed["final"]
    statuses = {name: final[ids[name]].status for name in ("buyer", "late_buyer")}
    assert sorted(statuses.values()) == ["CONFIRMED", "REJECTED"], statuses
    for name, status in statuses.items():
        order_id = ids[name]
        assert event_types(inbox, order_id) == Counter({"order.placed": 1, f"order.{status.lower()}": 1})
        (email,) = emails_to(addresses[name])
        assert email["destinations"]["ToAddresses"] == [addresses[name]]
        if status == "CONFIRMED":
            assert email["subject"] == f"Your CloudCart order {order_id[:8]} is confirmed: 49.99 USD"
            assert "49.99 USD" in email["body"]
        else:
            assert email["subject"] == f"Your CloudCart order {order_id[:8]} could not be completed"
            assert "Not enough stock was left for: Last lamp." in email["body"]
        final_event = next(e for e in inbox.by_order[order_id] if e["status"] == status)
        assert final_event["total"] == "49.99" and final_event["currency"] == "USD"
        assert final_event["_type_attribute"] == final_event["type"]


def test_an_order_message_delivered_three_times_sends_one_email_and_one_event_per_state(placed, inbox):
    order_id = placed["ids"]["thrice"]
    assert placed["final"][order_id].status == "CONFIRMED"
    assert event_types(inbox, order_id) == Counter({"order.placed": 1, "order.confirmed": 1})
    (email,) = emails_to(placed["emails"]["thrice"])
    assert "399.98 USD" in email["body"]
    assert {m.key: m.state for m in markers(order_id).values()} == {
        "PENDING#sns": "SENT",
        "CONFIRMED#sns": "SENT",
        "CONFIRMED#email": "SENT",
    }


def test_a_guest_order_without_an_address_gets_events_and_no_email(placed, inbox):
    order_id = placed["ids"]["guest"]
    assert Order.get(order_id).email is None
    assert event_types(inbox, order_id) == Counter({"order.placed": 1, "order.confirmed": 1})
    assert set(markers(order_id)) == {"PENDING#sns", "CONFIRMED#sns"}


def test_a_worker_killed_while_sending_the_email_never_sends_it_twice(web, inbox, make_product):
    """SES hangs (accepts the connection, never answers) while the worker sends the receipt; the
    worker is SIGKILLed mid-call. After a restart against the real SES the e-mail is not sent
    again: the claim lapsed with the outcome unknown, so it is recorded UNCERTAIN (at most once),
    while the events still go out exactly once."""
    address = new_address()
    order_id = checkout(web, make_product(stock=5, price_cents=1234), email=address)
    ses = SesStandIn()
    ses.hang()
    env = {"SES_ENDPOINT_URL": ses.url, "AWS_READ_TIMEOUT": "60"}
    first = CeleryProcess("worker", concurrency=1, env=env, name="e2e-notify-killed")
    try:
        wait_marker(order_id, "CONFIRMED#email", lambda m: m.state == "CLAIMED", timeout=120, what="claimed")
    finally:
        os.killpg(first.process.pid, signal.SIGKILL)  # the whole worker: main process and pool
        first.process.wait()
        ses.close()

    second = CeleryProcess("worker", concurrency=1, name="e2e-notify-restarted")
    try:
        wait_marker(order_id, "CONFIRMED#email", lambda m: m.state != "CLAIMED", timeout=120, what="resolved")
        wait_notifications_drained(timeout=120)
    finally:
        second.stop()
    assert Order.get(order_id).status == "CONFIRMED"
    assert len(emails_to(address)) <= 1
    assert markers(order_id)["CONFIRMED#email"].state == "UNCERTAIN"
    assert event_types(inbox, order_id) == Counter({"order.placed": 1, "order.confirmed": 1})


def test_with_ses_down_orders_still_confirm_and_the_email_arrives_once_ses_is_back(web, inbox, make_product):
    address = new_address()
    ses = SesStandIn()  # bound, not listening: connection refused
    env = {"SES_ENDPOINT_URL": ses.url, "NOTIFY_MAX_RETRIES": "100"}
    worker = CeleryProcess("worker", concurrency=2, env=env, name="e2e-notify-ses-down")
    try:
        order_id = checkout(web, make_product(stock=5, price_cents=2500), qty=2, email=address)
        assert wait_final([order_id], timeout=120)[order_id].status == "CONFIRMED"
        inbox.wait_for(order_id, ["order.placed", "order.confirmed"], timeout=120)
        # Backing off, not dropped: the receipt's own marker counts its attempts (the worker's
        # "Retry in" lines also come from other tasks, such as a second notify message of this
        # order finding the marker claimed).
        marker = wait_marker(
            order_id, "CONFIRMED#email", lambda m: m.attempts >= 2, timeout=120, what="tried twice"
        )
        assert emails_to(address) == []
        # Released after each refused attempt (or claimed by the attempt running right now).
        assert marker.state in ("RELEASED", "CLAIMED"), marker.state

        ses.forward_to(settings.SES_ENDPOINT_URL)  # SES is back on the same address
        (email,) = wait_emails(address, 1, timeout=120)
        wait_notifications_drained(timeout=120)
    finally:
        worker.stop()
        ses.close()
    assert "50.00 USD" in email["body"]
    assert len(emails_to(address)) == 1
    assert markers(order_id)["CONFIRMED#email"].state == "SENT"
    assert event_types(inbox, order_id) == Counter({"order.placed": 1, "order.confirmed": 1})

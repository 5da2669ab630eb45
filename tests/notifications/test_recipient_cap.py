"""Receipts per recipient address are capped per hour: past the cap the e-mail is skipped and
logged, the order and its events are not affected (real moto SES and DynamoDB Local)."""

import time

import pytest

from notifications.models import NotificationMarker
from notifications.services import order_notifications_send
from orders.models import Order
from orders.services import LineRequest, order_place, order_process
from tests.notifications.support import emails_to, new_address


@pytest.fixture
def cap_of_two(settings):
    settings.NOTIFY_EMAILS_PER_RECIPIENT_PER_HOUR = 2
    # The count is per clock hour: do not start right before one ends.
    left = 3600 - time.time() % 3600
    if left < 30:
        time.sleep(left + 0.5)


def _confirmed_order_to(address: str, product) -> str:
    order_id = order_place(
        lines=[LineRequest(product.id, 1)], client_total_cents=None, cart_id=None, email=address
    ).order_id
    order_process(order_id=order_id)
    return order_id


def test_receipts_past_the_hourly_cap_for_one_address_are_skipped_and_logged(
    cap_of_two, make_product, caplog
):
    product = make_product(stock=10)
    address = new_address()
    orders = [_confirmed_order_to(address, product) for _ in range(3)]

    outcomes = [order_notifications_send(order_id=order_id) for order_id in orders]

    assert [o["CONFIRMED#email"] for o in outcomes] == ["SENT", "SENT", "SKIPPED"]
    assert len(emails_to(address)) == 2
    # The order is unaffected and its events still go out; the skip is final, and logged.
    assert all(o["CONFIRMED#sns"] == "SENT" for o in outcomes)
    assert Order.get(orders[2], consistent_read=True).status == "CONFIRMED"
    assert order_notifications_send(order_id=orders[2])["CONFIRMED#email"] == "SKIPPED"
    marker = NotificationMarker.get(orders[2], "CONFIRMED#email", consistent_read=True)
    assert marker.state == "SKIPPED" and "per hour" in marker.detail
    assert any("skipped" in r.getMessage() and orders[2] in r.getMessage() for r in caplog.records)
    # The count is per address (any case): another address still gets its receipt.
    other = order_notifications_send(order_id=_confirmed_order_to(new_address(), product))
    assert other["CONFIRMED#email"] == "SENT"
    same = order_notifications_send(order_id=_confirmed_order_to(address.upper(), product))
    assert same["CONFIRMED#email"] == "SKIPPED"

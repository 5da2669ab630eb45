"""What a paid order tells its customer and subscribers, sent by the notify service against moto's
SNS and SES: an SMS on CONFIRMED and on each refund (opted-in customers only, once per state
with its marker), one event and one e-mail per refund, and the payment statuses' event types."""

import io
import uuid
from datetime import UTC, datetime

import pytest
import requests
from django.conf import settings
from django.core.management import call_command

from cloudcart.aws import aws_calls_counted
from notifications.emails import order_email_render
from notifications.events import order_event, order_notices
from notifications.services import order_notifications_send
from orders.models import Order, OrderLine, StatusChange
from payments.refunds import order_refund
from tests.notifications.support import EventsInbox, emails_to, new_address
from tests.payments.refund_support import paid_order_factory


@pytest.fixture
def paid_order(make_product, localstripe):
    return paid_order_factory(make_product, localstripe)


@pytest.fixture(scope="module")
def inbox(moto_server) -> EventsInbox:
    return EventsInbox()


def texts_to(phone: str) -> list[str]:
    """Every SMS moto's SNS accepted for `phone` (moto's inspection API: sns -> SMS)."""
    data = requests.get(f"{settings.SNS_ENDPOINT_URL}/moto-api/data.json", timeout=30).json()
    return [sms["message"] for sms in data["sns"]["SMS"] if sms["phone_number"] == phone]


def new_phone() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def contact(order: Order, *, phone: str, sms_opt_in: bool, email: str | None = None) -> None:
    order.update(actions=[Order.phone.set(phone), Order.sms_opt_in.set(sms_opt_in), Order.email.set(email)])


def refund(order_id: str, amount_cents: int | None = None):
    return order_refund(
        order_id=order_id,
        amount_cents=amount_cents,
        restock=False,
        reason=None,
        idempotency_key=uuid.uuid4().hex,
        actor="staff-sub-1",
    )


def test_an_opted_in_customer_gets_one_sms_when_confirmed_and_one_per_refund(paid_order):
    order = paid_order(qty=2, price_cents=1500)
    phone = new_phone()
    contact(order, phone=phone, sms_opt_in=True)

    link = f"{settings.SHOP_URL.rstrip('/')}/orders/{order.order_id}"
    short = order.order_id[:8]

    first = order_notifications_send(order_id=order.order_id)
    again = order_notifications_send(order_id=order.order_id)  # a duplicate delivery
    assert first["CONFIRMED#sms"] == "SENT" and again["CONFIRMED#sms"] == "SENT"
    assert texts_to(phone) == [f"CloudCart: order {short} is confirmed, 30.00 USD. {link}"]

    partial = refund(order.order_id, 1000)
    rest = refund(order.order_id)
    outcomes = order_notifications_send(order_id=order.order_id)
    order_notifications_send(order_id=order.order_id)

    assert outcomes[f"PARTIALLY_REFUNDED:{partial.refund_id}#sms"] == "SENT"
    assert outcomes[f"REFUNDED:{rest.refund_id}#sms"] == "SENT"
    assert texts_to(phone) == [
        f"CloudCart: order {short} is confirmed, 30.00 USD. {link}",
        f"CloudCart: we refunded 10.00 USD for order {short}. {link}",
        f"CloudCart: we refunded 20.00 USD for order {short}. {link}",
    ]


def test_no_sms_without_the_customers_consent(paid_order):
    order = paid_order(qty=1)
    phone = new_phone()
    contact(order, phone=phone, sms_opt_in=False)
    refund(order.order_id)

    outcomes = order_notifications_send(order_id=order.order_id)

    assert not [key for key in outcomes if key.endswith("#sms")]
    assert texts_to(phone) == []


def test_each_refund_has_one_event_and_one_email(paid_order, inbox):
    order = paid_order(qty=1, price_cents=2500)
    address = new_address()
    contact(order, phone=new_phone(), sms_opt_in=False, email=address)
    first = refund(order.order_id, 500)
    second = refund(order.order_id, 500)

    order_notifications_send(order_id=order.order_id)
    order_notifications_send(order_id=order.order_id)

    events = inbox.wait_for(order.order_id, ["order.confirmed", "order.refunded"], timeout=10)
    inbox.drain()
    refunds = [e for e in events if e["type"] == "order.refunded"]
    assert sorted(e["id"] for e in refunds) == sorted(
        f"{order.order_id}:PARTIALLY_REFUNDED:{r.refund_id}" for r in (first, second)
    )
    assert {e["refund"]["id"]: e["refund"]["amount"] for e in refunds} == {
        first.refund_id: "5.00",
        second.refund_id: "5.00",
    }
    assert all(
        e["status"] == "PARTIALLY_REFUNDED" and e["_type_attribute"] == "order.refunded" for e in refunds
    )
    subjects = sorted(m["subject"] for m in emails_to(address))
    assert subjects == [
        f"CloudCart refunded 5.00 USD for order {order.order_id[:8]}",
        f"CloudCart refunded 5.00 USD for order {order.order_id[:8]}",
        f"Your CloudCart order {order.order_id[:8]} is confirmed: 25.00 USD",
    ]


def test_a_pass_over_an_order_with_refunds_also_queries_its_markers(paid_order):
    """A refund's markers are named after Stripe's refund id, which the pass only learns from the
    order: they are not among the keys read with it, so the pass Queries them (and sends nothing
    twice)."""
    order = paid_order(qty=1, price_cents=2500)
    refund(order.order_id, 500)
    first = order_notifications_send(order_id=order.order_id)

    with aws_calls_counted() as calls:
        again = order_notifications_send(order_id=order.order_id)

    assert again == first
    assert calls == {"dynamodb.BatchGetItem": 1, "dynamodb.Query": 1}


def test_outbox_shows_the_local_sms(paid_order):
    order = paid_order(qty=1)
    phone = new_phone()
    contact(order, phone=phone, sms_opt_in=True)
    order_notifications_send(order_id=order.order_id)

    out = io.StringIO()
    call_command("outbox", "--to", phone, stdout=out)

    assert f"SMS to:  {phone}" in out.getvalue()
    assert f"order {order.order_id[:8]} is confirmed" in out.getvalue()


def _order(*statuses: str) -> Order:
    at = datetime.now(UTC)
    return Order(
        order_id="f" * 32,
        status=statuses[-1],
        items=[OrderLine(product_id="p-1", name="Lamp", unit_price_cents=1000, qty=1)],
        total_cents=1000,
        currency="USD",
        created_at=at,
        history=[StatusChange(status=status, at=at) for status in statuses],
    )


def test_payment_statuses_have_their_event_types():
    paid = _order("AWAITING_PAYMENT", "PENDING", "CONFIRMED")
    expired = _order("AWAITING_PAYMENT", "EXPIRED")
    cancelled = _order("AWAITING_PAYMENT", "PENDING", "CANCELLED")
    unpaid_shop = _order("PENDING", "CONFIRMED")  # PAYMENTS_PROVIDER=none

    def types(order: Order) -> list[str]:
        return [order_event(order=order, notice=notice)["type"] for notice in order_notices(order)]

    assert types(paid) == ["order.placed", "order.paid", "order.confirmed"]
    assert types(expired) == ["order.placed", "order.expired"]
    assert types(cancelled) == ["order.placed", "order.paid", "order.cancelled"]
    assert types(unpaid_shop) == ["order.placed", "order.confirmed"]


def test_expired_and_cancelled_orders_are_emailed_what_happened():
    expired = order_email_render(order=_order("AWAITING_PAYMENT", "EXPIRED"), status="EXPIRED")
    cancelled = order_email_render(order=_order("AWAITING_PAYMENT", "CANCELLED"), status="CANCELLED")

    assert expired.subject == "Your CloudCart order ffffffff expired unpaid"
    assert "nothing was charged" in expired.text and "1 x Lamp @ 10.00 USD" in expired.text
    assert cancelled.subject == "Your CloudCart order ffffffff is cancelled"
    assert f"/orders/{'f' * 32}" in cancelled.html

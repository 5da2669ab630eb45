"""Order notifications sent by the service itself (`order_notifications_send`) against real moto
SNS, SES and DynamoDB: one event per state, one e-mail per final state, and what each marker
state means. tests/e2e/test_notifications_e2e.py runs the same code in real Celery workers."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from cloudcart import aws
from notifications.emails import order_email_render
from notifications.models import NotificationMarker
from notifications.services import NotifyRetryLater, order_notifications_send, send_failure_kind
from orders.models import Order
from orders.services import LineRequest, order_fail, order_place, order_process
from orders.tasks import process_order
from tests.aws_env import free_port
from tests.notifications.support import EventsInbox, emails_to, markers, new_address, notify_messages_take


@pytest.fixture(scope="module")
def inbox(moto_server) -> EventsInbox:
    return EventsInbox()


def place(*lines, email: str | None = None) -> str:
    placement = order_place(
        lines=[LineRequest(product.id, qty) for product, qty in lines],
        client_total_cents=None,
        cart_id=None,
        email=email,
        request_id="req-notify-1",
    )
    return placement.order_id


def test_a_confirmed_order_has_one_event_per_state_and_one_receipt(make_product, inbox):
    phone = make_product(name="Smartphone X", price_cents=19999, stock=5)
    case = make_product(name="Case <b>", price_cents=1250, stock=5)
    address = new_address()
    order_id = place((phone, 2), (case, 1), email=address)
    order_process(order_id=order_id)

    first = order_notifications_send(order_id=order_id)
    again = order_notifications_send(order_id=order_id)  # a duplicate delivery

    assert first == {"PENDING#sns": "SENT", "CONFIRMED#sns": "SENT", "CONFIRMED#email": "SENT"}
    assert again == first
    events = inbox.wait_for(order_id, ["order.placed", "order.confirmed"], timeout=60)
    inbox.drain()
    assert sorted(e["type"] for e in events) == ["order.confirmed", "order.placed"]
    confirmed = next(e for e in events if e["type"] == "order.confirmed")
    assert confirmed["_type_attribute"] == "order.confirmed"
    assert confirmed["id"] == f"{order_id}:CONFIRMED"
    assert confirmed["version"] == 1
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["total"] == "412.48" and confirmed["currency"] == "USD"
    assert confirmed["lines"][0] == {
        "id": phone.id,
        "name": "Smartphone X",
        "qty": 2,
        "unit_price": "199.99",
        "line_total": "399.98",
    }
    assert confirmed["customer_id"] is None
    assert confirmed["request_id"] == "req-notify-1"
    assert confirmed["occurred_at"].endswith("Z")
    assert "email" not in confirmed  # no personal data on the topic

    (email,) = emails_to(address)
    assert email["subject"] == f"Your CloudCart order {order_id[:8]} is confirmed: 412.48 USD"
    assert email["source"] == "CloudCart <orders@cloudcart.example>"
    assert "412.48 USD" in email["body"] and "399.98 USD" in email["body"]
    assert "Case &lt;b&gt;" in email["body"]  # product names are escaped in the HTML part
    assert f"/orders/{order_id}" in email["body"]


def test_the_receipts_plain_text_has_the_lines_total_and_link(make_product):
    phone = make_product(name="Smartphone X", price_cents=19999, stock=5)
    order_id = place((phone, 2))
    order_process(order_id=order_id)

    email = order_email_render(order=Order.get(order_id), status="CONFIRMED")

    assert "2 x Smartphone X @ 199.99 USD = 399.98 USD" in email.text
    assert "Total: 399.98 USD" in email.text
    assert f"http://127.0.0.1:8000/orders/{order_id}" in email.text
    assert "<" not in email.text


def test_a_rejected_order_emails_why(make_product, inbox):
    short = make_product(name="Last lamp", stock=1)
    address = new_address()
    order_id = place((short, 1), email=address)
    Order(order_id=order_id).update(actions=[Order.created_at.set(datetime.now(UTC))])
    short.update(actions=[type(short).stock.set(0)])  # sold elsewhere after checkout
    assert order_process(order_id=order_id) == "REJECTED"

    assert order_notifications_send(order_id=order_id)["REJECTED#email"] == "SENT"

    (email,) = emails_to(address)
    assert email["subject"] == f"Your CloudCart order {order_id[:8]} could not be completed"
    assert "Not enough stock was left for: Last lamp." in email["body"]
    events = inbox.wait_for(order_id, ["order.placed", "order.rejected"], timeout=60)
    rejected = next(e for e in events if e["type"] == "order.rejected")
    assert rejected["reason"] == "out_of_stock" and rejected["out_of_stock"] == [short.id]


def test_an_order_without_an_address_has_events_and_no_email(make_product, inbox):
    order_id = place((make_product(stock=3), 1))
    order_process(order_id=order_id)

    outcomes = order_notifications_send(order_id=order_id)

    assert outcomes == {"PENDING#sns": "SENT", "CONFIRMED#sns": "SENT"}
    assert not any(key.endswith("#email") for key in markers(order_id))
    inbox.wait_for(order_id, ["order.placed", "order.confirmed"], timeout=60)


def _claim_lapsed(order_id: str, key: str) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    NotificationMarker(
        order_id=order_id,
        key=key,
        state="CLAIMED",
        token="dead-attempt",
        lease_until=past,
        updated_at=past,
        expires_at=past + timedelta(days=90),
    ).save()


def test_a_lapsed_email_claim_is_never_resent_but_a_lapsed_event_claim_is(make_product, inbox):
    """A worker that died between claim and record: the e-mail may have gone out, so it is
    recorded UNCERTAIN and not sent again (at most once); the event is published (at least once)."""
    address = new_address()
    order_id = place((make_product(stock=3), 1), email=address)
    order_process(order_id=order_id)
    _claim_lapsed(order_id, "CONFIRMED#email")
    _claim_lapsed(order_id, "CONFIRMED#sns")

    outcomes = order_notifications_send(order_id=order_id)

    assert outcomes["CONFIRMED#email"] == "UNCERTAIN"
    assert outcomes["CONFIRMED#sns"] == "SENT"
    assert emails_to(address) == []
    assert order_notifications_send(order_id=order_id)["CONFIRMED#email"] == "UNCERTAIN"
    inbox.wait_for(order_id, ["order.confirmed"], timeout=60)


def test_a_live_claim_elsewhere_is_retried_later_not_skipped(make_product):
    order_id = place((make_product(stock=3), 1))
    order_process(order_id=order_id)
    soon = datetime.now(UTC) + timedelta(seconds=30)
    NotificationMarker(
        order_id=order_id,
        key="PENDING#sns",
        state="CLAIMED",
        token="t",
        lease_until=soon,
        updated_at=soon,
        expires_at=soon,
    ).save()

    with pytest.raises(NotifyRetryLater):
        order_notifications_send(order_id=order_id)


@pytest.fixture
def ses_at(settings):
    """Point this process's SES client at another endpoint (a real port), then back."""

    def point(url: str) -> None:
        settings.SES_ENDPOINT_URL = url
        aws.client.cache_clear()

    yield point
    aws.client.cache_clear()


def test_ses_unreachable_releases_the_claim_and_a_later_attempt_sends_once(make_product, ses_at, settings):
    address = new_address()
    order_id = place((make_product(stock=3), 1), email=address)
    order_process(order_id=order_id)
    live = settings.SES_ENDPOINT_URL

    ses_at(f"http://127.0.0.1:{free_port()}")  # nothing listens: connection refused
    with pytest.raises(NotifyRetryLater):
        order_notifications_send(order_id=order_id)
    assert markers(order_id)["CONFIRMED#email"].state == "RELEASED"
    assert markers(order_id)["CONFIRMED#sns"].state == "SENT"  # SNS is not held up by SES

    ses_at(live)
    assert order_notifications_send(order_id=order_id)["CONFIRMED#email"] == "SENT"
    assert order_notifications_send(order_id=order_id)["CONFIRMED#email"] == "SENT"
    assert len(emails_to(address)) == 1
    assert markers(order_id)["CONFIRMED#email"].attempts == 2


def test_an_address_ses_refuses_is_recorded_and_not_retried(make_product):
    order_id = place((make_product(stock=3), 1), email=new_address())
    order_process(order_id=order_id)

    with override_settings(NOTIFICATIONS_SENDER="CloudCart <nobody@unverified.example>"):
        outcomes = order_notifications_send(order_id=order_id)

    assert outcomes["CONFIRMED#email"] == "REFUSED"
    assert "not verified" in markers(order_id)["CONFIRMED#email"].detail


def test_send_failures_are_told_apart():
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    def client_error(code: str, status: int) -> ClientError:
        return ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail"
        )

    assert send_failure_kind(EndpointConnectionError(endpoint_url="http://x")) == "not_sent"
    assert send_failure_kind(client_error("Throttling", 400)) == "not_sent"
    assert send_failure_kind(client_error("ServiceUnavailable", 503)) == "not_sent"
    assert send_failure_kind(client_error("MessageRejected", 400)) == "refused"
    assert send_failure_kind(ReadTimeoutError(endpoint_url="http://x")) == "unknown"


def test_checkout_stores_a_guest_email_and_refuses_a_bad_one(api, make_product):
    product = make_product(stock=3)
    address = new_address()

    accepted = api.post(
        "/checkout", {"items": [{"id": product.id, "qty": 1}], "email": address}, format="json"
    )
    refused = api.post(
        "/checkout", {"items": [{"id": product.id, "qty": 1}], "email": "not-an-address"}, format="json"
    )

    assert accepted.status_code == 202, accepted.content
    assert Order.get(accepted.json()["id"], consistent_read=True).email == address
    assert "email" not in accepted.json()  # the order's page never shows the address
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid" and "email" in refused.json()["errors"]


def test_every_order_message_for_a_final_order_enqueues_its_notifications(make_product):
    """A worker that dies between the order's transaction and the enqueue leaves its message
    unacked: the redelivery finds the order final and must enqueue the notifications then."""
    order_id = place((make_product(stock=3), 1))
    order_process(order_id=order_id)  # final, as if the worker died right after its transaction
    notify_messages_take()

    process_order.run(order_id)  # the task's body, as the redelivered message runs it

    assert notify_messages_take() == [order_id]


def test_checkout_and_failing_an_order_enqueue_its_notifications(make_product):
    order_id = place((make_product(stock=3), 1))
    assert order_id in notify_messages_take()  # placed

    order_fail(order_id=order_id)

    assert notify_messages_take() == [order_id]
    order_notifications_send(order_id=order_id)
    assert markers(order_id)["FAILED#sns"].state == "SENT"
    assert "FAILED#email" not in markers(order_id)  # no e-mail for an internal failure


def test_outbox_prints_the_latest_emails_as_text(make_product):
    address = new_address()
    order_id = place((make_product(name="Desk lamp", price_cents=4999, stock=3), 1), email=address)
    order_process(order_id=order_id)
    order_notifications_send(order_id=order_id)
    out = io.StringIO()

    call_command("outbox", "--to", address, stdout=out)

    text = out.getvalue()
    assert f"To:      {address}" in text
    assert f"Subject: Your CloudCart order {order_id[:8]} is confirmed: 49.99 USD" in text
    assert "Desk lamp" in text and "49.99 USD" in text and "<td" not in text
    assert "(1 of 1 e-mails;" in text


def test_a_signed_in_customers_receipt_goes_to_their_account_address(api, make_product, inbox):
    from tests.accounts.support import access_token_for, bearer, email_new, user_create

    address = email_new("receipt")
    sub = user_create(email=address)
    token = access_token_for(email=address)
    product = make_product(stock=3, price_cents=700)

    response = api.post(
        "/checkout", {"items": [{"id": product.id, "qty": 1}]}, format="json", **bearer(token)
    )
    assert response.status_code == 202, response.content
    order_id = response.json()["id"]
    order_process(order_id=order_id)
    order_notifications_send(order_id=order_id)

    (email,) = emails_to(address)
    assert "7.00 USD" in email["body"]
    events = inbox.wait_for(order_id, ["order.placed", "order.confirmed"], timeout=60)
    assert {event["customer_id"] for event in events} == {sub}

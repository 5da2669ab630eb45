"""`POST /webhooks/stripe`: signed on the raw body, each event once, racing the customer's call."""

import threading
import time

from rest_framework.test import APIClient

from orders.models import IdempotencyKey, Order
from payments.webhooks import EVENT_KEY_PREFIX
from tests.payments.support import CARD_OK, card, confirm_at_stripe, event_for, intent, signed


def _awaiting(api, product) -> dict:
    response = api.post("/checkout", {"items": [{"id": product.id, "qty": 1}]}, format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def _deliver(api: APIClient, event: dict, **signing):
    payload, header = signed(event, **signing)
    return api.generic(
        "POST", "/webhooks/stripe", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def test_the_same_authorised_event_three_times_moves_the_order_once(
    stripe_on, api, make_product, orders_queue
):
    order = _awaiting(api, make_product(stock=2))
    authorised = confirm_at_stripe(
        stripe_on.url, intent_id=order["payment"]["intent_id"], payment_method=card(stripe_on.url, CARD_OK)
    )
    assert authorised["status"] == "requires_capture"
    event = event_for(authorised)

    answers = [_deliver(APIClient(), event) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["received"] for a in answers] == ["handled", "duplicate", "duplicate"]
    stored = Order.get(order["id"], consistent_read=True)
    assert [c.status for c in stored.history] == ["AWAITING_PAYMENT", "PENDING"]
    assert int(stored.payment.amount_authorized_cents) == authorised["amount"]
    assert orders_queue.order_ids() == [order["id"]]  # one publish
    assert IdempotencyKey.get(f"{EVENT_KEY_PREFIX}{event['id']}", consistent_read=True)


def test_a_wrong_signature_or_an_old_timestamp_is_400_and_changes_nothing(stripe_on, api, make_product):
    order = _awaiting(api, make_product(stock=2))
    authorised = confirm_at_stripe(
        stripe_on.url, intent_id=order["payment"]["intent_id"], payment_method=card(stripe_on.url, CARD_OK)
    )
    event = event_for(authorised)

    forged = _deliver(APIClient(), event, secret="whsec_someone_else")
    stale = _deliver(APIClient(), event, at=int(time.time()) - 600)
    unsigned = APIClient().post("/webhooks/stripe", event, format="json")

    for answer in (forged, stale, unsigned):
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_signature"
    assert Order.get(order["id"], consistent_read=True).status == "AWAITING_PAYMENT"
    # Nothing recorded either: the genuine delivery still counts.
    assert _deliver(APIClient(), event).json()["received"] == "handled"


def test_events_for_unknown_intents_or_of_other_types_are_acknowledged(stripe_on, caplog):
    stranger = {"id": "pi_notours123", "object": "payment_intent", "metadata": {"order_id": "a" * 32}}
    unknown = _deliver(APIClient(), event_for(stranger))
    other = _deliver(APIClient(), event_for({"id": "cus_1", "object": "customer"}, kind="customer.created"))

    assert (unknown.status_code, unknown.json()["received"]) == (200, "unknown_intent")
    assert (other.status_code, other.json()["received"]) == (200, "ignored")
    assert "unknown intent pi_notours123" in caplog.text


def _race(*, cart_id: str, order_id: str, event: dict) -> dict:
    """The owner's no-body payment call and the webhook, released at the same moment."""
    barrier = threading.Barrier(2)
    answers = {}

    def browser():
        client = APIClient()
        client.credentials(HTTP_X_CART_ID=cart_id)
        barrier.wait(timeout=10)
        answers["browser"] = client.post(f"/orders/{order_id}/payment", {}, format="json")

    def webhook():
        barrier.wait(timeout=10)
        answers["webhook"] = _deliver(APIClient(), event)

    threads = [threading.Thread(target=browser), threading.Thread(target=webhook)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_webhook_and_payment_call_at_once_publish_once(stripe_on, api, make_product, orders_queue):
    """The browser's no-body call and the webhook race on an authorised intent: one moves the
    order (one publish), the other finds it moved; both answer success."""
    for _ in range(3):
        order = _awaiting(api, make_product(stock=2))
        authorised = confirm_at_stripe(
            stripe_on.url,
            intent_id=order["payment"]["intent_id"],
            payment_method=card(stripe_on.url, CARD_OK),
        )

        answers = _race(
            cart_id=api.cookies["cart_id"].value, order_id=order["id"], event=event_for(authorised)
        )

        assert answers["browser"].status_code == 202, answers["browser"].json()
        assert answers["webhook"].status_code == 200
        stored = Order.get(order["id"], consistent_read=True)
        assert [c.status for c in stored.history] == ["AWAITING_PAYMENT", "PENDING"]
        assert orders_queue.order_ids() == [order["id"]]
        assert intent(stripe_on.url, order["payment"]["intent_id"])["status"] == "requires_capture"


def test_the_browser_back_from_3ds_after_the_webhook_won_gets_202_with_the_order(
    stripe_on, api, make_product, orders_queue
):
    """The webhook moved the order first; the browser's no-body call (back from 3-D Secure) is
    told the order is paid (202), not that it cannot be paid. A card sent again is still 409."""
    order = _awaiting(api, make_product(stock=2))
    authorised = confirm_at_stripe(
        stripe_on.url, intent_id=order["payment"]["intent_id"], payment_method=card(stripe_on.url, CARD_OK)
    )
    assert _deliver(APIClient(), event_for(authorised)).json()["received"] == "handled"

    back = api.post(f"/orders/{order['id']}/payment", {}, format="json")

    assert back.status_code == 202, back.json()
    assert (back.json()["status"], back.json()["payment"]["status"]) == ("PENDING", "requires_capture")
    assert orders_queue.order_ids() == [order["id"]]  # published once, by the webhook
    again = api.post(
        f"/orders/{order['id']}/payment", {"payment_method": card(stripe_on.url, CARD_OK)}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "order_not_payable")

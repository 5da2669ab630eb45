"""Checkout with Stripe and `POST /orders/{id}/payment`, in process, against localstripe over HTTP."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from orders.models import Order
from orders.services import order_process
from tests.payments.support import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    authenticate_3ds,
    card,
    intent,
    intent_count,
    intents_of_order,
    listed,
)

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
}


def checkout(api: APIClient, product, *, qty: int = 1, key: str | None = None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(
        "/checkout", {"items": [{"id": product.id, "qty": qty}], **extra}, format="json", **headers
    )


def pay(api: APIClient, order_id: str, payment_method: str | None = None):
    body = {"payment_method": payment_method} if payment_method else {}
    return api.post(f"/orders/{order_id}/payment", body, format="json")


def stock(product) -> int:
    return int(Product.get(product.id, consistent_read=True).stock)


def test_checkout_opens_one_manual_intent_for_the_servers_total(stripe_on, api, make_product, orders_queue):
    product = make_product(price_cents=1250, stock=5)

    response = checkout(api, product, qty=2, total="25.00", shipping_address=ADDRESS, phone="+447700900123")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "AWAITING_PAYMENT"
    payment = body["payment"]
    assert payment["provider"] == "stripe" and payment["status"] == "requires_payment_method"
    assert (payment["amount"], payment["currency"]) == ("25.00", "USD")
    assert payment["client_secret"].startswith(payment["intent_id"])
    assert payment["publishable_key"].startswith("pk_")
    at_stripe = intents_of_order(stripe_on.url, body["id"])
    assert [i["id"] for i in at_stripe] == [payment["intent_id"]]
    assert (at_stripe[0]["amount"], at_stripe[0]["currency"], at_stripe[0]["capture_method"]) == (
        2500,
        "usd",
        "manual",
    )
    assert body["shipping_address"] == {**ADDRESS, "country": "GB", "line2": None}
    order = Order.get(body["id"], consistent_read=True)
    assert (order.phone, order.sms_opt_in, int(order.version)) == ("+447700900123", False, 1)
    assert orders_queue.order_ids() == []  # nothing for the worker until it is paid


def test_paying_with_a_good_card_makes_the_order_pending_then_confirmed_and_captured(
    stripe_on, api, make_product, orders_queue
):
    product = make_product(price_cents=999, stock=3)
    order_id = checkout(api, product, qty=2).json()["id"]

    response = pay(api, order_id, card(stripe_on.url, CARD_OK))

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "PENDING"
    assert response.json()["payment"]["amount_authorized"] == "19.98"
    assert "client_secret" not in response.json()["payment"]
    assert orders_queue.order_ids() == [order_id]  # published once, by the winner

    assert order_process(order_id=order_id) == "CONFIRMED"

    order = Order.get(order_id, consistent_read=True)
    assert [c.status for c in order.history] == ["AWAITING_PAYMENT", "PENDING", "CONFIRMED"]
    assert int(order.payment.amount_captured_cents) == 1998
    assert int(order.version) == 3
    captured = intent(stripe_on.url, order.payment.intent_id)
    assert captured["status"] == "succeeded" and captured["amount"] == 1998
    assert captured["latest_charge"]["captured"] is True
    assert stock(product) == 1
    shown = api.get(f"/orders/{order_id}").json()["payment"]
    assert (shown["status"], shown["amount_captured"]) == ("succeeded", "19.98")


def test_a_declined_card_is_402_and_another_card_then_pays(stripe_on, api, make_product):
    product = make_product(stock=3)
    order_id = checkout(api, product).json()["id"]

    declined = pay(api, order_id, card(stripe_on.url, CARD_DECLINED))

    assert declined.status_code == 402
    assert declined.json() == {"code": "payment_declined", "detail": "Your card was declined."}
    order = Order.get(order_id, consistent_read=True)
    assert order.status == "AWAITING_PAYMENT"
    assert order.payment.last_error == "Your card was declined."
    assert api.get(f"/orders/{order_id}").json()["payment"]["last_error"] == "Your card was declined."

    paid = pay(api, order_id, card(stripe_on.url, CARD_OK))
    assert paid.status_code == 202, paid.json()
    assert paid.json()["status"] == "PENDING"
    assert paid.json()["payment"]["last_error"] is None
    assert len(intents_of_order(stripe_on.url, order_id)) == 1  # the same intent, another card


@pytest.mark.parametrize("passes", [True, False], ids=["3ds-passed", "3ds-failed"])
def test_three_d_secure_needs_the_browser_then_a_call_without_body(stripe_on, api, make_product, passes):
    product = make_product(stock=3)
    order_id = checkout(api, product).json()["id"]

    response = pay(api, order_id, card(stripe_on.url, CARD_3DS))

    assert response.status_code == 200, response.json()
    payment = response.json()["payment"]
    assert payment["status"] == "requires_action"
    assert response.json()["status"] == "AWAITING_PAYMENT"
    # The browser: Stripe.js's confirmCardPayment with the client secret shows the 3-D Secure dialog.
    authenticate_3ds(
        stripe_on.url, intent_id=payment["intent_id"], client_secret=payment["client_secret"], success=passes
    )

    after = pay(api, order_id)

    if passes:
        assert after.status_code == 202, after.json()
        assert after.json()["status"] == "PENDING"
    else:
        assert after.status_code == 402
        assert after.json()["code"] == "payment_declined"
        assert "authentication" in after.json()["detail"]
        assert Order.get(order_id, consistent_read=True).status == "AWAITING_PAYMENT"


def test_a_payment_method_that_does_not_exist_is_400(stripe_on, api, make_product):
    order_id = checkout(api, make_product()).json()["id"]

    for method in ("pm_doesnotexist123", "card_nope"):
        response = pay(api, order_id, method)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_payment_method"
    assert pay(api, order_id, "tok_visa").json()["code"] == "invalid"  # not a payment method id at all
    assert Order.get(order_id, consistent_read=True).status == "AWAITING_PAYMENT"


def test_someone_elses_order_is_404_and_its_secret_is_never_shown_to_them(stripe_on, api, make_product):
    order_id = checkout(api, make_product()).json()["id"]
    stranger = APIClient()
    stranger.credentials(HTTP_X_CART_ID=uuid.uuid4().hex)

    response = pay(stranger, order_id, card(stripe_on.url, CARD_OK))

    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
    assert "client_secret" not in stranger.get(f"/orders/{order_id}").json()["payment"]
    assert "client_secret" in api.get(f"/orders/{order_id}").json()["payment"]
    assert Order.get(order_id, consistent_read=True).status == "AWAITING_PAYMENT"


def test_paying_an_order_twice_is_409(stripe_on, api, make_product):
    order_id = checkout(api, make_product()).json()["id"]
    assert pay(api, order_id, card(stripe_on.url, CARD_OK)).status_code == 202

    again = pay(api, order_id, card(stripe_on.url, CARD_OK))

    assert again.status_code == 409
    assert again.json()["code"] == "order_not_payable"


def test_a_retried_checkout_gets_the_same_order_and_the_same_intent(stripe_on, api, make_product):
    product = make_product(stock=5)
    before = intent_count(stripe_on.url)

    first = checkout(api, product, key="retry-me")
    second = checkout(api, product, key="retry-me")

    assert (first.status_code, second.status_code) == (202, 202)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["payment"]["intent_id"] == first.json()["payment"]["intent_id"]
    assert intent_count(stripe_on.url) == before + 1  # never a second intent


def _checkout_at_once(cart_id: str, count: int) -> list:
    barrier = threading.Barrier(count)

    def one(_):
        client = APIClient()
        client.credentials(HTTP_X_CART_ID=cart_id)
        barrier.wait(timeout=10)
        return client.post("/checkout", {}, format="json")

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_checkouts_of_one_cart_leave_one_payable_intent(stripe_on, make_product):
    """Each checkout opens its intent before the transaction that only one of them wins: the
    losers' intents (orphans: no order names them) are cancelled, so only the order's is payable."""
    for _ in range(2):
        product = make_product(stock=5)
        cart_id = uuid.uuid4().hex
        owner = APIClient()
        owner.credentials(HTTP_X_CART_ID=cart_id)
        assert owner.post("/cart", {"id": product.id, "qty": 1}, format="json").status_code in (200, 201)
        before = {i["id"] for i in listed(stripe_on.url, "payment_intents")}

        answers = _checkout_at_once(cart_id, 3)

        placed = [a.json()["id"] for a in answers if a.status_code == 202]
        assert len(placed) == 1, [a.json() for a in answers]
        assert {a.json()["code"] for a in answers if a.status_code != 202} <= {"cart_checked_out"}
        stored = Order.get(placed[0], consistent_read=True)
        opened = [i for i in listed(stripe_on.url, "payment_intents") if i["id"] not in before]
        for opened_intent in opened:
            if opened_intent["id"] == stored.payment.intent_id:
                assert opened_intent["status"] == "requires_payment_method"
            else:
                assert opened_intent["status"] == "canceled", opened_intent
                assert not Order.count(opened_intent["metadata"]["order_id"])


def test_with_payments_off_checkout_is_pending_with_no_payment(api, make_product, orders_queue):
    response = checkout(api, make_product(stock=2))

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["payment"], response.json()["version"]) == (
        "PENDING",
        None,
        1,
    )
    assert orders_queue.order_ids() == [response.json()["id"]]


def test_stripe_down_at_checkout_is_503_and_nothing_is_stored(stripe_down, api, make_product):
    down, _up = stripe_down
    product = make_product(stock=5)
    api.post("/cart", {"id": product.id, "qty": 1}, format="json")
    orders_before = Order.count()
    down()

    response = api.post("/checkout", {}, format="json", HTTP_IDEMPOTENCY_KEY="while-down")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0
    assert Order.count() == orders_before
    assert api.get("/cart").json()["items"][0]["qty"] == 1  # the cart is untouched


def test_contact_fields_are_validated_and_part_of_the_idempotency_fingerprint(stripe_on, api, make_product):
    product = make_product(stock=5)
    bad = checkout(api, product, shipping_address={**ADDRESS, "country": "XX"}, phone="07700 900123")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"shipping_address", "phone"}
    assert checkout(api, product, sms_opt_in=True).json()["errors"] == {
        "phone": ["SMS updates need a phone number."]
    }

    assert checkout(api, product, key="addr", shipping_address=ADDRESS).status_code == 202
    other = checkout(api, product, key="addr", shipping_address={**ADDRESS, "city": "Leeds"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_the_shop_may_require_a_shipping_address(settings, stripe_on, api, make_product):
    settings.SHIPPING_ADDRESS_REQUIRED = True
    product = make_product(stock=5)

    missing = checkout(api, product)

    assert missing.status_code == 400
    assert "shipping_address" in missing.json()["errors"]
    assert checkout(api, product, shipping_address=ADDRESS).status_code == 202

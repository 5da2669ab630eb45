"""Helpers for refund tests: a CONFIRMED order whose payment is captured at the session's
localstripe (as the worker leaves it), and what localstripe holds."""

import requests
from django.conf import settings

from catalog.models import Product
from orders.models import Order, Payment
from orders.services import LineRequest, order_place, order_process


def _stripe(localstripe, method: str, path: str, **data) -> dict:
    answer = requests.request(
        method,
        f"{localstripe.url}{path}",
        auth=(settings.STRIPE_SECRET_KEY, ""),
        **({"params": data} if method == "GET" else {"data": data}),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def captured_intent(localstripe, *, amount_cents: int) -> str:
    """A PaymentIntent authorised with a test card and captured at localstripe: what the worker
    leaves behind for a CONFIRMED order."""
    method = _stripe(
        localstripe,
        "POST",
        "/v1/payment_methods",
        type="card",
        **{
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
    )
    intent = _stripe(
        localstripe,
        "POST",
        "/v1/payment_intents",
        amount=amount_cents,
        currency="usd",
        capture_method="manual",
        payment_method=method["id"],
        confirm="true",
    )
    assert intent["status"] == "requires_capture", intent
    captured = _stripe(localstripe, "POST", f"/v1/payment_intents/{intent['id']}/capture")
    assert captured["status"] == "succeeded"
    return intent["id"]


def stripe_refunds(localstripe, intent_id: str) -> list[dict]:
    return _stripe(localstripe, "GET", "/v1/refunds", payment_intent=intent_id, limit=100)["data"]


def paid_order_factory(make_product, localstripe):
    """make(qty=..., price_cents=...) -> a CONFIRMED order (stock taken) whose payment of its total
    is captured at localstripe, as the worker leaves it."""

    def make(
        *,
        qty: int = 2,
        price_cents: int = 1500,
        stock: int = 10,
        intent_id: str | None = None,
        email: str | None = None,
    ) -> Order:
        product = make_product(price_cents=price_cents, stock=stock)
        placement = order_place(
            lines=[LineRequest(product.id, qty)],
            client_total_cents=None,
            cart_id=None,
            request_id="req-refund",
            email=email,
        )
        assert order_process(order_id=placement.order_id) == Order.CONFIRMED
        order = Order.get(placement.order_id, consistent_read=True)
        total = int(order.total_cents)
        intent = intent_id or captured_intent(localstripe, amount_cents=total)
        order.update(
            actions=[
                Order.payment.set(
                    Payment(
                        provider="stripe",
                        intent_id=intent,
                        status="succeeded",
                        amount_authorized_cents=total,
                        amount_captured_cents=total,
                        amount_refunded_cents=0,
                        refunds=[],
                    )
                ),
                Order.version.add(1),
            ]
        )
        return order

    return make


def stock_of(product_id: str) -> int:
    return int(Product.get(product_id, consistent_read=True).stock)

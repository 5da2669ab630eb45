"""Helpers for payment tests: cards and intents at localstripe, 3-D Secure as Stripe.js does it,
and webhook deliveries signed as Stripe signs them."""

import hashlib
import hmac
import json
import secrets
import time

import requests
from django.conf import settings

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches, then declined when charged
CARD_3DS = "4000002500003155"  # asks for 3-D Secure

_SECRET_KEY = ("sk_test_tests", "")


def card(base: str, number: str) -> str:
    """A PaymentMethod for `number`, as Stripe.js would create it in the browser."""
    answer = requests.post(
        f"{base}/v1/payment_methods",
        auth=_SECRET_KEY,
        data={
            "type": "card",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["id"]


def intent(base: str, intent_id: str) -> dict:
    answer = requests.get(f"{base}/v1/payment_intents/{intent_id}", auth=_SECRET_KEY, timeout=10)
    answer.raise_for_status()
    return answer.json()


def listed(base: str, resource: str) -> list[dict]:
    """Every object of a kind at localstripe (`payment_intents`, `events`), oldest first, all pages."""
    found: list[dict] = []
    params = {"limit": 100}
    while True:
        answer = requests.get(f"{base}/v1/{resource}", auth=_SECRET_KEY, params=params, timeout=10)
        answer.raise_for_status()
        page = answer.json()
        found += page["data"]
        if not page["has_more"] or not page["data"]:
            return found
        params["starting_after"] = page["data"][-1]["id"]


def intents_of_order(base: str, order_id: str) -> list[dict]:
    """Every PaymentIntent at localstripe whose metadata names `order_id`."""
    return [
        item
        for item in listed(base, "payment_intents")
        if (item.get("metadata") or {}).get("order_id") == order_id
    ]


def intent_count(base: str) -> int:
    return len(listed(base, "payment_intents"))


def authenticate_3ds(base: str, *, intent_id: str, client_secret: str, success: bool) -> dict:
    """The 3-D Secure dialog of localstripe's Stripe.js (`confirmCardPayment`): its own call,
    with the publishable key and the client secret."""
    answer = requests.post(
        f"{base}/v1/payment_intents/{intent_id}/_authenticate",
        data={
            "key": settings.STRIPE_PUBLISHABLE_KEY,
            "client_secret": client_secret,
            "success": "true" if success else "false",
        },
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()


def confirm_at_stripe(base: str, *, intent_id: str, payment_method: str) -> dict:
    """Authorise the intent at Stripe without our server (as Stripe.js may): the webhook or the
    reconciler then has to notice."""
    requests.post(
        f"{base}/v1/payment_intents/{intent_id}",
        auth=_SECRET_KEY,
        data={"payment_method": payment_method},
        timeout=10,
    ).raise_for_status()
    answer = requests.post(f"{base}/v1/payment_intents/{intent_id}/confirm", auth=_SECRET_KEY, timeout=10)
    answer.raise_for_status()
    return answer.json()


def cancel_at_stripe(base: str, intent_id: str) -> None:
    requests.post(
        f"{base}/v1/payment_intents/{intent_id}/cancel", auth=_SECRET_KEY, timeout=10
    ).raise_for_status()


def event_for(intent_body: dict, *, kind: str = "payment_intent.amount_capturable_updated") -> dict:
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": intent_body},
    }


def signed(event: dict, *, secret: str | None = None, at: int | None = None) -> tuple[bytes, str]:
    """The body and `Stripe-Signature` header Stripe would send (t=..., v1=HMAC-SHA256)."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    signature = hmac.new(key, b"%d." % timestamp + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={signature}"

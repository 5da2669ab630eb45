"""Staff refunds against localstripe over HTTP and DynamoDB Local: full and partial, never above
the capture (concurrent requests too), restocking once, one refund per Idempotency-Key, and who
may refund."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from orders.models import Order
from orders.services import LineRequest, order_place, order_process
from payments.errors import RefundExceedsCaptured
from payments.refunds import METADATA_KEY, order_refund, refund_key
from tests.accounts.support import bearer
from tests.payments.refund_support import paid_order_factory, stock_of, stripe_refunds


@pytest.fixture
def paid_order(make_product, localstripe):
    return paid_order_factory(make_product, localstripe)


def refund(order_id: str, *, amount_cents=None, restock=False, reason=None, key=None):
    return order_refund(
        order_id=order_id,
        amount_cents=amount_cents,
        restock=restock,
        reason=reason,
        idempotency_key=key or uuid.uuid4().hex,
        actor="staff-sub-1",
    )


def post_refund(api, order_id: str, body: dict, *, token: str | None, key: str | None = "default"):
    headers = bearer(token) if token else {}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = uuid.uuid4().hex if key == "default" else key
    return api.post(f"/orders/{order_id}/refunds", body, format="json", **headers)


def test_a_partial_refund_then_the_rest(api, staff_token, paid_order, localstripe):
    order = paid_order(qty=2, price_cents=1500)  # 30.00
    version = int(order.version)

    first = post_refund(api, order.order_id, {"amount": "12.50", "reason": "Scratched"}, token=staff_token)
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["refund"]["amount"] == "12.50" and body["refund"]["currency"] == "USD"
    assert body["refund"]["id"].startswith("re_") and body["refund"]["reason"] == "Scratched"
    assert body["refund"]["restock"] is False
    assert body["order"]["status"] == "PARTIALLY_REFUNDED"

    rest = post_refund(api, order.order_id, {}, token=staff_token)  # no amount: all that is left
    assert rest.status_code == 201, rest.json()
    assert rest.json()["refund"]["amount"] == "17.50"
    assert rest.json()["order"]["status"] == "REFUNDED"

    stored = Order.get(order.order_id, consistent_read=True)
    assert stored.status == Order.REFUNDED
    assert int(stored.payment.amount_refunded_cents) == 3000
    assert [int(r.amount_cents) for r in stored.payment.refunds] == [1250, 1750]
    assert [r.refund_id for r in stored.payment.refunds] == [
        body["refund"]["id"],
        rest.json()["refund"]["id"],
    ]
    assert stored.payment.refunds[0].by is not None and stored.payment.refunds[0].reason == "Scratched"
    assert [c.status for c in stored.history][-2:] == ["PARTIALLY_REFUNDED", "REFUNDED"]
    # Two reservations and two records, each one version.
    assert int(stored.version) == version + 4
    at_stripe = stripe_refunds(localstripe, order.payment.intent_id)
    assert sorted(r["amount"] for r in at_stripe) == [1250, 1750]
    assert {r["metadata"]["order_id"] for r in at_stripe} == {order.order_id}


def test_a_refund_larger_than_captured_is_409_and_refunds_nothing(api, staff_token, paid_order, localstripe):
    order = paid_order(qty=1, price_cents=1000)
    refund(order.order_id, amount_cents=400)

    answer = post_refund(api, order.order_id, {"amount": "6.01"}, token=staff_token)

    assert answer.status_code == 409
    assert answer.json()["code"] == "refund_exceeds_captured"
    assert answer.json()["refundable"] == "6.00"
    assert [r["amount"] for r in stripe_refunds(localstripe, order.payment.intent_id)] == [400]
    stored = Order.get(order.order_id, consistent_read=True)
    assert stored.status == Order.PARTIALLY_REFUNDED and int(stored.payment.amount_refunded_cents) == 400
    assert [r.state for r in stored.refund_requests] == ["DONE"]  # nothing left reserved


def test_concurrent_refunds_never_exceed_the_capture(paid_order, localstripe):
    order = paid_order(qty=1, price_cents=1000)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait(timeout=10)
        try:
            refund(order.order_id, amount_cents=600)
            outcomes.append("refunded")
        except RefundExceedsCaptured:
            outcomes.append("exceeds")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["exceeds", "exceeds", "exceeds", "refunded"]
    assert [r["amount"] for r in stripe_refunds(localstripe, order.payment.intent_id)] == [600]
    stored = Order.get(order.order_id, consistent_read=True)
    assert int(stored.payment.amount_refunded_cents) == 600 and stored.status == Order.PARTIALLY_REFUNDED


def test_an_order_without_a_captured_payment_is_409_order_not_paid(api, staff_token, make_product):
    product = make_product()
    placement = order_place(lines=[LineRequest(product.id, 1)], client_total_cents=None, cart_id=None)
    pending = post_refund(api, placement.order_id, {}, token=staff_token)
    assert pending.status_code == 409 and pending.json()["code"] == "order_not_paid"
    order_process(order_id=placement.order_id)  # CONFIRMED, but paid elsewhere (payments off)
    confirmed = post_refund(api, placement.order_id, {"amount": "1.00"}, token=staff_token)
    assert confirmed.status_code == 409 and confirmed.json()["code"] == "order_not_paid"
    assert Order.get(placement.order_id, consistent_read=True).refund_requests is None


def test_restocking_returns_the_units_once_with_the_refund_of_the_rest(api, staff_token, paid_order):
    order = paid_order(qty=3, price_cents=1000, stock=10)
    product_id = order.items[0].product_id
    assert stock_of(product_id) == 7

    partial = post_refund(api, order.order_id, {"amount": "5.00", "restock": True}, token=staff_token)
    assert partial.status_code == 409 and partial.json()["code"] == "restock_not_allowed"
    assert post_refund(api, order.order_id, {"amount": "5.00"}, token=staff_token).status_code == 201
    assert stock_of(product_id) == 7

    rest = post_refund(api, order.order_id, {"restock": True}, token=staff_token)
    assert rest.status_code == 201, rest.json()
    assert rest.json()["refund"]["restock"] is True and rest.json()["refund"]["amount"] == "25.00"
    assert stock_of(product_id) == 10
    stored = Order.get(order.order_id, consistent_read=True)
    assert stored.status == Order.REFUNDED and stored.restocked_at is not None

    again = post_refund(api, order.order_id, {"restock": True}, token=staff_token)
    assert again.status_code == 409 and again.json()["code"] == "refund_exceeds_captured"
    assert stock_of(product_id) == 10


def test_the_same_idempotency_key_gives_the_same_refund(api, staff_token, paid_order, localstripe):
    order = paid_order(qty=1, price_cents=2000)
    key = f"refund-{uuid.uuid4().hex}"

    first = post_refund(api, order.order_id, {"amount": "3.00"}, token=staff_token, key=key)
    second = post_refund(api, order.order_id, {"amount": "3.00"}, token=staff_token, key=key)
    other_body = post_refund(api, order.order_id, {"amount": "4.00"}, token=staff_token, key=key)

    assert first.status_code == second.status_code == 201
    assert second.json()["refund"] == first.json()["refund"]
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_key_reused"
    assert [r["amount"] for r in stripe_refunds(localstripe, order.payment.intent_id)] == [300]
    assert int(Order.get(order.order_id, consistent_read=True).payment.amount_refunded_cents) == 300


def test_a_retry_after_an_unknown_outcome_finds_the_refund_stripe_made(paid_order, localstripe):
    """An attempt reserved, Stripe made the refund, and the attempt died before recording it (its
    claim lapsed): the retry with the same key records Stripe's refund instead of making another."""
    order = paid_order(qty=1, price_cents=2000)
    key = "crashed-attempt"
    stored_key = refund_key(order_id=order.order_id, idempotency_key=key)
    _refund_dying_after_stripe(order.order_id, key=key)
    made = stripe_refunds(localstripe, order.payment.intent_id)
    assert [(r["amount"], r["metadata"][METADATA_KEY]) for r in made] == [(700, stored_key)]
    _claim_lapse(order.order_id)

    retried = refund(order.order_id, amount_cents=700, key=key)

    assert retried.refund_id == made[0]["id"] and not retried.replayed
    assert len(stripe_refunds(localstripe, order.payment.intent_id)) == 1
    assert int(retried.order.payment.amount_refunded_cents) == 700


def test_a_refund_stripe_refuses_holds_nothing(api, staff_token, paid_order):
    order = paid_order(qty=1, price_cents=1000, intent_id="pi_unknown_to_stripe")

    refused = post_refund(api, order.order_id, {"amount": "2.00"}, token=staff_token)

    assert refused.status_code == 409 and refused.json()["code"] == "refund_refused"
    stored = Order.get(order.order_id, consistent_read=True)
    assert stored.refund_requests == [] and int(stored.payment.amount_refunded_cents) == 0
    assert stored.status == Order.CONFIRMED


def test_only_staff_may_refund_and_each_refund_needs_a_key(api, staff_token, customer_token, paid_order):
    order = paid_order(qty=1, price_cents=1000)

    assert post_refund(api, order.order_id, {}, token=None).status_code == 401
    customer = post_refund(api, order.order_id, {}, token=customer_token)
    assert customer.status_code == 403 and customer.json()["code"] == "permission_denied"
    keyless = post_refund(api, order.order_id, {}, token=staff_token, key=None)
    assert keyless.status_code == 400 and keyless.json()["code"] == "idempotency_key_required"
    for amount in ("0.00", "-1.00", "1.001", 5, "five"):
        bad = post_refund(api, order.order_id, {"amount": amount}, token=staff_token)
        assert bad.status_code == 400 and "amount" in bad.json()["errors"], amount
    unknown = post_refund(api, uuid.uuid4().hex, {}, token=staff_token)
    assert unknown.status_code == 404 and unknown.json()["code"] == "order_not_found"
    stored = Order.get(order.order_id, consistent_read=True)
    assert stored.status == Order.CONFIRMED and not stored.refund_requests


# --- A crash between Stripe and the record, reproduced with the service's own steps ----------


def _refund_dying_after_stripe(order_id: str, *, key: str) -> None:
    """Steps 1 and 2 of order_refund (reserve, then Stripe's refund), and no step 3: what a process
    killed between Stripe's answer and the record leaves behind."""
    from payments import refunds

    order = Order.get(order_id, consistent_read=True)
    request = refunds._reserve(
        order,
        key=refund_key(order_id=order_id, idempotency_key=key),
        request_hash=refunds._request_hash(amount_cents=700, restock=False, reason=None),
        amount_cents=700,
        restock=False,
        reason=None,
        actor="staff-sub-1",
    )
    refunds._stripe_refund(order=order, request=request, look_first=False)


def _claim_lapse(order_id: str) -> None:
    """The dead attempt's claim runs out (as it would after _claim_seconds())."""
    order = Order.get(order_id, consistent_read=True)
    (request,) = order.refund_requests
    assert request.state == "RESERVED"
    request.claimed_until = datetime.now(UTC) - timedelta(seconds=1)
    order.update(actions=[Order.refund_requests.set([request]), Order.version.add(1)])

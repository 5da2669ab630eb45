"""The order life cycle table (orders/lifecycle.py): walked, applied to real orders, and drawn."""

import secrets
from datetime import UTC, datetime

import pytest

from cloudcart.management.commands.docs import ARCHITECTURE_DOC
from orders.lifecycle import (
    FINAL_STATUSES,
    STATUSES,
    TRANSITIONS,
    Actor,
    TransitionNotAllowed,
    doc_with_diagram,
    order_transition,
    transition_get,
)
from orders.models import Order, OrderLine, StatusChange


def _stored(status: str) -> Order:
    now = datetime.now(UTC)
    order = Order(
        order_id=secrets.token_hex(16),
        status=status,
        items=[OrderLine(product_id="p", name="P", unit_price_cents=100, qty=1)],
        total_cents=100,
        currency="USD",
        created_at=now,
        history=[StatusChange(status=status, at=now)],
        version=1,
    )
    order.save()
    return order


def test_every_status_is_reachable_from_checkout_and_every_unfinished_one_has_a_way_on():
    reached = {t.target for t in TRANSITIONS if t.source is None}
    while True:
        more = {t.target for t in TRANSITIONS if t.source in reached} - reached
        if not more:
            break
        reached |= more
    assert reached == set(STATUSES)
    for status in set(STATUSES) - FINAL_STATUSES:
        assert any(t.source == status for t in TRANSITIONS), status
    for status in FINAL_STATUSES:
        assert not any(t.source == status for t in TRANSITIONS), status
    # One row per (source, target): the table is a function of the two.
    pairs = [(t.source, t.target) for t in TRANSITIONS]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize(
    "transition", [t for t in TRANSITIONS if t.source], ids=lambda t: f"{t.source}->{t.target}"
)
def test_each_transition_moves_a_real_order_exactly_once(transition):
    order = _stored(transition.source)
    actor = sorted(transition.actors)[0]

    assert order_transition(order, source=transition.source, target=transition.target, actor=actor)
    stored = Order.get(order.order_id, consistent_read=True)
    assert stored.status == transition.target
    assert int(stored.version) == 2
    assert [c.status for c in stored.history] == [transition.source, transition.target]

    if transition.source != transition.target:
        # A second writer with the same idea finds the order moved on: nothing changes.
        assert not order_transition(
            Order(order_id=order.order_id), source=transition.source, target=transition.target, actor=actor
        )
        assert int(Order.get(order.order_id, consistent_read=True).version) == 2


def test_an_undeclared_transition_or_actor_is_refused_before_any_write():
    order = _stored(Order.CONFIRMED)
    with pytest.raises(TransitionNotAllowed):
        order_transition(order, source=Order.CONFIRMED, target=Order.PENDING, actor=Actor.OPERATOR)
    with pytest.raises(TransitionNotAllowed):
        transition_get(source=Order.PENDING, target=Order.CONFIRMED, actor=Actor.STAFF)
    with pytest.raises(TransitionNotAllowed):
        transition_get(source=Order.AWAITING_PAYMENT, target=Order.CONFIRMED, actor=Actor.WORKER)
    assert Order.get(order.order_id, consistent_read=True).status == Order.CONFIRMED


def test_the_architecture_doc_draws_the_current_table():
    text = ARCHITECTURE_DOC.read_text()
    assert doc_with_diagram(text) == text, "docs/architecture.md is stale: `python manage.py docs --write`"
    for transition in TRANSITIONS:
        assert f"--> {transition.target}: {transition.why}" in text

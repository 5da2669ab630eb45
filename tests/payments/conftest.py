"""Fixtures for payment tests: Stripe on (against the session's localstripe), the orders queue."""

import pytest

from tests.orders.support import OrdersQueue


@pytest.fixture
def stripe_on(settings, localstripe):
    """This test's in-process code pays through Stripe (the session's localstripe)."""
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_API_BASE = localstripe.url
    return localstripe


@pytest.fixture
def stripe_down(settings, stripe_on):
    """Stripe unreachable: its API base is a closed local port (refused at once)."""

    def down() -> None:
        settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    def up() -> None:
        settings.STRIPE_API_BASE = stripe_on.url

    return down, up


@pytest.fixture
def orders_queue() -> OrdersQueue:
    queue = OrdersQueue()
    queue.purge()
    return queue

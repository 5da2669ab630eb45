"""Fixtures for checkout and order tests: the orders queue, emptied before each test that asks for it."""

import pytest

from tests.orders.support import OrdersQueue


@pytest.fixture
def orders_queue() -> OrdersQueue:
    queue = OrdersQueue()
    queue.purge()
    return queue

"""AWS call budgets of the worker and the notifier per order: a regression that adds a call fails here.

Counted in process (cloudcart.aws.aws_calls_counted) around the tasks' own functions. Receiving
and deleting the messages is the broker's work around them: kombu deletes acked messages ten at
a time (cloudcart/kombu_sqs.py), and tests/e2e drains the queues through it.
"""

import pytest

from cloudcart.aws import aws_calls_counted
from notifications.services import order_notifications_send, order_notify
from orders.services import LineRequest, order_place
from orders.tasks import process_order
from tests.notifications.support import notify_messages_take


@pytest.fixture
def placed(make_product):
    """A PENDING order of one line; kombu has looked the notifications queue up already (once
    per process, GetQueueAttributes), and that queue is left empty."""
    order_id = order_place(
        lines=[LineRequest(make_product(stock=5).id, 1)], client_total_cents=None, cart_id=None
    ).order_id
    order_notify(order_id=order_id)
    yield order_id
    notify_messages_take()


def test_processing_an_order_is_one_read_one_transaction_and_one_send(placed):
    with aws_calls_counted() as calls:
        process_order(placed)

    assert calls == {"dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1, "sqs.SendMessage": 1}


def test_a_notification_pass_reads_once_and_claims_publishes_and_records_each_event(placed):
    process_order(placed)

    with aws_calls_counted() as calls:
        outcomes = order_notifications_send(order_id=placed)

    assert outcomes == {"PENDING#sns": "SENT", "CONFIRMED#sns": "SENT"}
    # The order with its markers (one read of both tables), then per event: claim, publish, record.
    assert calls == {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 4, "sns.Publish": 2}


def test_a_notification_pass_with_nothing_left_to_send_only_reads(placed):
    process_order(placed)
    order_notifications_send(order_id=placed)

    with aws_calls_counted() as calls:
        outcomes = order_notifications_send(order_id=placed)

    assert outcomes == {"PENDING#sns": "SENT", "CONFIRMED#sns": "SENT"}
    assert calls == {"dynamodb.BatchGetItem": 1}

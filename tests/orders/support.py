"""Helpers for checkout and order tests: the session's real SQS queue, waiting for final orders."""

import base64
import json
import time

from django.conf import settings

from cloudcart import aws
from orders.models import Order


class OrdersQueue:
    """The orders queue on the session's moto server, seen from the test."""

    def __init__(self) -> None:
        self.sqs = aws.client("sqs")
        self.url = settings.ORDERS_QUEUE_URL
        self.dlq_url = self.sqs.get_queue_url(QueueName=settings.ORDERS_DLQ_NAME)["QueueUrl"]

    def _take(self, url: str) -> list[dict]:
        """Receive and delete every visible message (PurgeQueue is allowed once a minute)."""
        taken = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return taken
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            taken += messages

    def purge(self) -> None:
        for url in (self.url, self.dlq_url):
            self._take(url)

    def depth(self, url: str | None = None) -> int:
        """Messages waiting, in flight (received, not deleted) and delayed (a retry's countdown)."""
        answer = self.sqs.get_queue_attributes(QueueUrl=url or self.url, AttributeNames=["All"])
        attributes = answer["Attributes"]
        return sum(
            int(attributes[name])
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )

    def order_ids(self, url: str | None = None) -> list[str]:
        """Take every visible message off the queue; the order ids of its `process_order` tasks."""
        return [task_order_id(message["Body"]) for message in self._take(url or self.url)]

    def wait_empty(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.depth() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert self.depth() == 0, "the worker did not drain the queue"


def task_order_id(body: str) -> str | None:
    """The order id of a Celery `process_order` message as kombu puts it on SQS (base64 JSON)."""
    envelope = json.loads(base64.b64decode(body))
    if envelope["headers"]["task"] != "orders.tasks.process_order":
        return None
    args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    return args[0]


def order_count() -> int:
    return Order.count()


def wait_final(order_ids, *, timeout: float) -> dict[str, Order]:
    """Poll until every order is CONFIRMED or REJECTED; return them by id."""
    deadline = time.monotonic() + timeout
    pending = set(order_ids)
    final: dict[str, Order] = {}
    while pending and time.monotonic() < deadline:
        for order_id in list(pending):
            order = Order.get(order_id, consistent_read=True)
            if order.status != Order.PENDING:
                final[order_id] = order
                pending.discard(order_id)
        if pending:
            time.sleep(0.5)
    assert not pending, f"{len(pending)} orders still PENDING after {timeout} s"
    return final

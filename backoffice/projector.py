"""The projector: a long-poll loop on the ledger's SQS queue that keeps the ledger current.

Each loop receives up to 10 events, reads their orders from DynamoDB in one BatchGetItem and
upserts them in one transaction (backoffice/projection.py), then deletes the messages. The event
only names the order: the state written is always the item as DynamoDB holds it now, with its
`version`, so a duplicate is a no-op and events arriving out of order cannot move an order back.
A batch that fails (DynamoDB or PostgreSQL down) is not deleted: SQS hands it out again after the
visibility timeout, and after LEDGER_MAX_RECEIVES receives it goes to the DLQ, which is alarmed.
An event naming no order we have is logged and dropped, never looped.

A few loops run side by side in one process (LEDGER_PROJECTOR_THREADS), each with its own
database connection: a batch spends most of its time waiting on SQS, DynamoDB or PostgreSQL.
"""

import functools
import json
import logging
import threading
import time

import boto3
from botocore.config import Config
from django.conf import settings
from django.db import close_old_connections, connection

from backoffice.projection import orders_project
from cloudcart import aws
from cloudcart.metrics import metric_put

logger = logging.getLogger(__name__)

LEDGER_LAG = "LedgerLagSeconds"


def event_order_id(body: str) -> str | None:
    """The order an event names: raw delivery (the event itself) or SNS's envelope around it."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
            document = json.loads(document["Message"])
        order_id = document.get("order_id") if isinstance(document, dict) else None
    except (ValueError, TypeError):
        return None
    return order_id if isinstance(order_id, str) and order_id else None


class LagWindow:
    """The largest event age (sent to projected) seen since the last metric put."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._max = 0.0
        self.projected = 0

    def record(self, *, ages: list[float]) -> None:
        with self._lock:
            self.projected += len(ages)
            if ages:
                self._max = max(self._max, *ages)

    def take(self) -> float:
        with self._lock:
            value, self._max = self._max, 0.0
            return value


def batch_project(*, messages: list[dict], queue_url: str, lag: LagWindow | None = None) -> int:
    """Project one received batch and delete its messages; the number of orders written."""
    ids: dict[str, list[dict]] = {}
    drop: list[dict] = []
    for message in messages:
        order_id = event_order_id(message.get("Body", ""))
        if order_id is None:
            logger.warning("Ledger: not an order event, dropped (message %s)", message.get("MessageId"))
            drop.append(message)
        else:
            ids.setdefault(order_id, []).append(message)
    written: list[str] = []
    if ids:
        written, missing = orders_project(order_ids=list(ids))
        for order_id in missing:
            logger.warning("Ledger: event for unknown order %s, dropped", order_id)
    now_ms = time.time() * 1000
    if lag is not None:
        lag.record(
            ages=[
                (now_ms - int(m.get("Attributes", {}).get("SentTimestamp", now_ms))) / 1000 for m in messages
            ]
        )
    messages_delete(queue_url=queue_url, messages=messages)
    return len(written)


def messages_delete(*, queue_url: str, messages: list[dict]) -> None:
    if not messages:
        return
    answer = aws.client("sqs").delete_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
    )
    for failure in answer.get("Failed", []):
        # The event comes back after the visibility timeout; projecting it again is a no-op.
        logger.warning("Ledger: could not delete a projected event: %s", failure.get("Message"))


@functools.cache
def _long_poll_client(wait_seconds: int):
    """An SQS client whose read timeout outlasts the long poll: the shared client's
    (AWS_READ_TIMEOUT, 3 s) cut every idle 10 s ReceiveMessage short with a read timeout."""
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=settings.SQS_ENDPOINT_URL,
        region_name=settings.AWS_REGION,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        config=Config(
            connect_timeout=settings.AWS_CONNECT_TIMEOUT,
            read_timeout=wait_seconds + settings.AWS_READ_TIMEOUT,
            retries={"mode": "standard", "total_max_attempts": 1 + settings.AWS_MAX_RETRIES},
            max_pool_connections=32,
        ),
    )


def receive(*, queue_url: str, wait_seconds: int) -> list[dict]:
    return (
        _long_poll_client(wait_seconds)
        .receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        .get("Messages", [])
    )


def queue_drained(*, queue_url: str) -> bool:
    """No event waiting and none in flight (received by a loop, not yet deleted or returned)."""
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"])
        + int(attributes["ApproximateNumberOfMessagesNotVisible"])
        == 0
    )


class Projector:
    """`threads` receive loops on the ledger queue until `stop()` (or, with `until_idle`, until
    the queue holds nothing, waiting or in flight)."""

    def __init__(self, *, queue_url: str | None = None, threads: int | None = None, until_idle: bool = False):
        self.queue_url = queue_url or settings.LEDGER_QUEUE_URL
        self.threads = threads or settings.LEDGER_PROJECTOR_THREADS
        self.until_idle = until_idle
        self._stop = threading.Event()
        self.lag = LagWindow()
        self.errors = 0

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        wait = 1 if self.until_idle else settings.LEDGER_WAIT_TIME_SECONDS
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    messages = receive(queue_url=self.queue_url, wait_seconds=wait)
                    if not messages:
                        if self.until_idle and queue_drained(queue_url=self.queue_url):
                            return
                        continue
                    batch_project(messages=messages, queue_url=self.queue_url, lag=self.lag)
                except Exception:
                    # Not deleted: SQS redelivers the batch after its visibility timeout.
                    self.errors += 1
                    logger.exception("Ledger: batch failed; its events will be received again")
                    connection.close()  # a broken connection is replaced on the next batch
                    self._stop.wait(1.0)
        finally:
            connection.close()

    def _metrics(self) -> None:
        while not self._stop.wait(settings.LEDGER_LAG_METRIC_SECONDS):
            metric_put(name=LEDGER_LAG, value=self.lag.take(), unit="Seconds")

    def run(self) -> None:
        loops = [
            threading.Thread(target=self._loop, name=f"ledger-{n}", daemon=True) for n in range(self.threads)
        ]
        for loop in loops:
            loop.start()
        if not self.until_idle:
            threading.Thread(target=self._metrics, name="ledger-metrics", daemon=True).start()
        for loop in loops:
            loop.join()
        self._stop.set()

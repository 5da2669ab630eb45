"""Helpers for notification tests: the order events (an SQS queue subscribed to the topic), the
e-mails moto's SES accepted, the notifications queue, and an SES endpoint that is down or hangs."""

import base64
import json
import socket
import threading
import time
import uuid
from collections import defaultdict

import requests
from django.conf import settings

from cloudcart import aws
from notifications.models import NotificationMarker


class EventsInbox:
    """An SQS queue subscribed to the order events topic (raw delivery), as a subscriber would."""

    def __init__(self) -> None:
        self.sqs = aws.client("sqs")
        name = f"{settings.QUEUE_PREFIX}events-{uuid.uuid4().hex[:8]}"
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        aws.client("sns").subscribe(
            TopicArn=settings.ORDER_EVENTS_TOPIC_ARN,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self.by_order: dict[str, list[dict]] = defaultdict(list)

    def drain(self) -> None:
        """Take every event waiting; keep each with its `type` message attribute."""
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                event = json.loads(message["Body"])
                event["_type_attribute"] = message["MessageAttributes"]["type"]["StringValue"]
                self.by_order[event["order_id"]].append(event)
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def wait_for(self, order_id: str, types: list[str], *, timeout: float) -> list[dict]:
        """Wait until `order_id` has had events of all `types`; return all its events so far."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            seen = {event["type"] for event in self.by_order[order_id]}
            if set(types) <= seen:
                return self.by_order[order_id]
            assert time.monotonic() < deadline, f"events for {order_id}: {sorted(seen)}, expected {types}"
            time.sleep(0.3)


def emails_to(address: str) -> list[dict]:
    """Every e-mail moto's SES accepted for `address` (moto's inspection API)."""
    data = requests.get(f"{settings.SES_ENDPOINT_URL}/moto-api/data.json", timeout=30).json()
    return [m for m in data["ses"]["Message"] if address in m["destinations"].get("ToAddresses", [])]


def wait_emails(address: str, count: int, *, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(found := emails_to(address)) < count:
        assert time.monotonic() < deadline, f"{len(found)} e-mails to {address} after {timeout} s"
        time.sleep(0.3)
    return found


def new_address() -> str:
    return f"buyer-{uuid.uuid4().hex[:10]}@example.com"


def markers(order_id: str) -> dict[str, NotificationMarker]:
    return {m.key: m for m in NotificationMarker.query(order_id, consistent_read=True)}


def wait_marker(order_id: str, key: str, until, *, timeout: float, what: str) -> NotificationMarker:
    """Wait until the marker `key` of `order_id` exists and `until(marker)` holds; return it."""
    deadline = time.monotonic() + timeout
    while (marker := markers(order_id).get(key)) is None or not until(marker):
        seen = None if marker is None else (marker.state, marker.attempts)
        assert time.monotonic() < deadline, f"{order_id}/{key} (state, attempts) {seen}: not {what}"
        time.sleep(0.2)
    return marker


def notifications_queue_depth() -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=settings.NOTIFICATIONS_QUEUE_URL, AttributeNames=["All"]
    )["Attributes"]
    return sum(
        int(attributes[name])
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def wait_notifications_drained(*, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while notifications_queue_depth():
        assert time.monotonic() < deadline, "the notifications queue was not drained"
        time.sleep(0.3)


class SesStandIn:
    """A port for an SES endpoint that is down (bound, not listening: connection refused), then
    hangs (listening, never answering) or comes back (forwarding to moto's real SES)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._closing = False

    def hang(self) -> None:
        """Accept connections (the kernel's backlog does) and never answer."""
        self.sock.listen(64)

    def forward_to(self, target_url: str) -> None:
        """SES is back: relay every connection to `target_url` (moto)."""
        host, port = target_url.rsplit("//", 1)[1].split(":")
        self.sock.listen(64)

        def pipe(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for s in (source, sink):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        def serve() -> None:
            while not self._closing:
                try:
                    client, _ = self.sock.accept()
                except OSError:
                    return
                upstream = socket.create_connection((host, int(port)))
                threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()

    def close(self) -> None:
        self._closing = True
        self.sock.close()


def notify_messages_take() -> list[str]:
    """Take every visible message off the notifications queue: the order ids of `notify_order` tasks."""
    sqs, url, found = aws.client("sqs"), settings.NOTIFICATIONS_QUEUE_URL, []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            envelope = json.loads(base64.b64decode(message["Body"]))
            assert envelope["headers"]["task"] == "notifications.tasks.notify_order"
            args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            found.append(args[0])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found

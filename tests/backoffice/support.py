"""Helpers for back-office tests: order items in the session's DynamoDB, their events on the real
SNS topic, and the projector draining the ledger's real SQS queue."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from boto3.dynamodb.types import TypeSerializer
from django.conf import settings

from backoffice.projector import Projector
from cloudcart import aws
from notifications.events import order_event
from orders.models import Order as DynamoOrder
from orders.models import StatusChange as DynamoStatusChange

_serializer = TypeSerializer()


def _at(moment: datetime) -> str:
    """PynamoDB's UTCDateTimeAttribute format, as the orders table stores times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def order_item(
    *,
    order_id: str | None = None,
    statuses=("PENDING",),
    email: str | None = None,
    customer_id: str | None = None,
    lines=(("p-1", "Blue kettle", 2500, 2),),
    captured_cents: int = 0,
    refunds=(),
    created_at: datetime | None = None,
) -> dict:
    """An order item as the orders table holds it (version = one per history entry)."""
    created = created_at or datetime.now(UTC)
    total = sum(price * qty for _, _, price, qty in lines)
    item = {
        "order_id": order_id or uuid.uuid4().hex,
        "status": statuses[-1],
        "items": [
            {"product_id": pid, "name": name, "unit_price_cents": price, "qty": qty}
            for pid, name, price, qty in lines
        ],
        "total_cents": total,
        "currency": "USD",
        "created_at": _at(created),
        "history": [
            {"status": status, "at": _at(created + timedelta(seconds=n)), "reason": None}
            for n, status in enumerate(statuses)
        ],
        "version": len(statuses) + len(refunds),
        "request_id": uuid.uuid4().hex[:16],
    }
    if email:
        item["email"] = email
    if customer_id:
        item["customer_id"] = customer_id
    if captured_cents:
        item["payment"] = {
            "provider": "stripe",
            "intent_id": f"pi_{uuid.uuid4().hex[:14]}",
            "status": "succeeded",
            "amount_authorized_cents": captured_cents,
            "amount_captured_cents": captured_cents,
            "amount_refunded_cents": sum(amount for amount in refunds),
            "refunds": [
                {
                    "refund_id": f"re_{n}",
                    "amount_cents": amount,
                    "restock": False,
                    "reason": None,
                    "created_at": _at(created + timedelta(minutes=5 + n)),
                    "by": "staff-sub",
                }
                for n, amount in enumerate(refunds)
            ],
        }
    return item


def order_put(item: dict) -> dict:
    aws.client("dynamodb").put_item(
        TableName=settings.ORDERS_TABLE,
        Item={k: _serializer.serialize(v) for k, v in item.items() if v is not None},
    )
    return item


def event_publish(order_id: str, status: str | None = None) -> None:
    """Publish the order's event for `status` (default: its latest) to the real topic, as the
    notifications task does."""
    order = DynamoOrder.get(order_id, consistent_read=True)
    change = next(
        (c for c in reversed(order.history) if status is None or c.status == status),
        DynamoStatusChange(status=order.status, at=order.created_at, reason=None),
    )
    event = order_event(order=order, change=change)
    aws.client("sns").publish(
        TopicArn=settings.ORDER_EVENTS_TOPIC_ARN,
        Message=json.dumps(event),
        MessageAttributes={"type": {"DataType": "String", "StringValue": event["type"]}},
    )


def project_all() -> Projector:
    """Drain the ledger queue with a real projector (two loops), in this process."""
    projector = Projector(threads=2, until_idle=True)
    projector.run()
    return projector


def ledger_queue_depth(url: str | None = None) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=url or settings.LEDGER_QUEUE_URL, AttributeNames=["All"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def order_published(**kwargs) -> dict:
    """An order item stored and its latest event published (not yet projected)."""
    item = order_put(order_item(**kwargs))
    event_publish(item["order_id"])
    return item

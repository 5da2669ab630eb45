"""Helpers for cart tests: put a cart item in a given state directly, as time would."""

import time

from django.conf import settings

from cloudcart import aws


def cart_store(cart_id: str, *, lines: dict[str, int], expires_at: float, version: int = 1) -> None:
    """Write a cart item as it would be after some writes (e.g. one that has expired)."""
    aws.client("dynamodb").put_item(
        TableName=settings.CARTS_TABLE,
        Item={
            "cart_id": {"S": cart_id},
            "lines": {"M": {product_id: {"N": str(qty)} for product_id, qty in lines.items()}},
            "version": {"N": str(version)},
            "expires_at": {"N": str(int(expires_at))},
        },
    )


def cart_expire(cart_id: str, *, seconds_ago: float = 5) -> None:
    """Move the cart's expiry into the past (DynamoDB's TTL would delete it later, or never)."""
    aws.client("dynamodb").update_item(
        TableName=settings.CARTS_TABLE,
        Key={"cart_id": {"S": cart_id}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time() - seconds_ago))}},
    )

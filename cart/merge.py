"""Sign-in merges the guest's cart into the customer's: exactly once, however often it is retried.

The guest's lines are added to the customer's (quantities summed, capped at 99 a line; at most 50
lines, the customer's own first; products gone from the catalog or out of stock are skipped), and
the guest cart is deleted, in ONE TransactWriteItems: the delete is conditioned on the guest cart's
version as read and the customer's write on the customer cart's version as read. A retried or
concurrent merge therefore either finds the guest cart gone (nothing to do) or loses the race and
re-reads; quantities are never added twice.
"""

import logging
import time

from botocore.exceptions import ClientError
from django.conf import settings

from cart.identity import is_customer_cart_id
from cart.selectors import PricedCart, cart_price
from cart.services import MAX_CART_LINES, MAX_LINE_QTY
from cart.store import TTL_SECONDS, CartState, cart_item_read
from catalog.selectors import products_get_many
from cloudcart import aws
from cloudcart.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

MERGE_ATTEMPTS = 6
# Cancellation reasons that mean "one of the carts changed (or is being changed): read again".
_RETRY_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def _lines_merged(*, customer: dict[str, int], guest: dict[str, int], available: set[str]) -> dict[str, int]:
    merged = dict(customer)
    for product_id in sorted(guest):
        if product_id not in available:
            continue
        if product_id not in merged and len(merged) >= MAX_CART_LINES:
            continue  # full: the customer's own lines come first
        merged[product_id] = min(MAX_LINE_QTY, merged.get(product_id, 0) + int(guest[product_id]))
    return merged


def _version_condition(state: CartState | None, placeholder: str) -> tuple[str, dict]:
    """`the item's version is still as read` (or `there is still no item`)."""
    if state is None or "version" not in state.raw:
        return "attribute_not_exists(#version)", {}
    return f"#version = {placeholder}", {placeholder: {"N": str(state.version)}}


def _guest_delete(guest: CartState) -> None:
    """Drop an expired or empty guest cart, only if unchanged since read."""
    condition, values = _version_condition(guest, ":gv")
    try:
        aws.client("dynamodb").delete_item(
            TableName=settings.CARTS_TABLE,
            Key={"cart_id": {"S": guest.cart_id}},
            ConditionExpression=condition,
            ExpressionAttributeNames={"#version": "version"},
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def _merge_write(*, guest: CartState, customer_cart_id: str, customer: CartState | None, lines: dict) -> bool:
    """The one transaction. False when either cart changed since read (the caller reads again)."""
    now = int(time.time())
    guest_condition, guest_values = _version_condition(guest, ":gv")
    customer_condition, customer_values = _version_condition(customer, ":cv")
    try:
        aws.client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": settings.CARTS_TABLE,
                        "Key": {"cart_id": {"S": guest.cart_id}},
                        "ConditionExpression": guest_condition,
                        "ExpressionAttributeNames": {"#version": "version"},
                        # DynamoDB refuses an empty map of values.
                        **({"ExpressionAttributeValues": guest_values} if guest_values else {}),
                    }
                },
                {
                    "Update": {
                        "TableName": settings.CARTS_TABLE,
                        "Key": {"cart_id": {"S": customer_cart_id}},
                        "UpdateExpression": (
                            "SET #lines = :lines, #version = if_not_exists(#version, :zero) + :one, "
                            "#expires = :expires"
                        ),
                        "ConditionExpression": customer_condition,
                        "ExpressionAttributeNames": {
                            "#lines": "lines",
                            "#version": "version",
                            "#expires": "expires_at",
                        },
                        "ExpressionAttributeValues": {
                            ":lines": {"M": {pid: {"N": str(qty)} for pid, qty in lines.items()}},
                            ":zero": {"N": "0"},
                            ":one": {"N": "1"},
                            ":expires": {"N": str(now + TTL_SECONDS)},
                            **customer_values,
                        },
                    }
                },
            ]
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") != "TransactionCanceledException":
            raise
        reasons = {reason.get("Code") for reason in exc.response.get("CancellationReasons", [])}
        if reasons & _RETRY_REASONS or "ConditionalCheckFailed" in error.get("Message", ""):
            return False
        raise
    return True


def cart_merge(*, guest_cart_id: str, customer_cart_id: str) -> PricedCart | None:
    """Merge the guest cart into the customer's and delete it; None when there was nothing to merge.

    Only a guest cart merges, and only into a customer cart: a guest id never contains `#`.
    """
    if is_customer_cart_id(guest_cart_id) or not is_customer_cart_id(customer_cart_id):
        raise ValueError("cart_merge merges a guest cart into a customer cart.")
    for _ in range(MERGE_ATTEMPTS):
        now = time.time()
        guest = cart_item_read(cart_id=guest_cart_id)
        if guest is None:
            return None  # never existed, or already merged
        if not guest.is_live(now) or not guest.lines:
            _guest_delete(guest)
            return None
        customer = cart_item_read(cart_id=customer_cart_id)
        customer_lines = customer.lines if customer is not None and customer.is_live(now) else {}
        products = products_get_many(product_ids=list(guest.lines), consistent=True)
        available = {pid for pid, product in products.items() if int(product.stock) > 0}
        lines = _lines_merged(customer=customer_lines, guest=guest.lines, available=available)
        if _merge_write(guest=guest, customer_cart_id=customer_cart_id, customer=customer, lines=lines):
            logger.info("Merged a guest cart (%d lines) into a customer cart", len(guest.lines))
            return cart_price(cart_id=customer_cart_id, lines=lines)
    raise ServiceUnavailable("The cart is busy; please retry.")

"""The cart item in DynamoDB: read it, and change it with one conditional UpdateItem per write.

The low-level client is used on purpose: a cart write is one UpdateItem with a nested map path
(`lines.#p`), `if_not_exists`, a size() condition, ALL_NEW and ALL_OLD return values and a throttle
counter with a computed name, and the raw item is all the answer needs. Every function here
makes exactly one DynamoDB call.
"""

import re
import time
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from django.conf import settings

from cart.models import CART_TTL
from cloudcart import aws
from cloudcart.throttling import WriteLimit

CONDITION_FAILED = "ConditionalCheckFailedException"
# A nested path (`lines.#p`) on an item that does not exist is refused as invalid, not as a
# failed condition (DynamoDB documents this; the emulators agree): both mean "no such cart".
MISSING_ITEM_ERRORS = frozenset({CONDITION_FAILED, "ValidationException"})
# A single-item write to an item that a transaction is changing right now is refused with these.
TRANSACTION_CONFLICTS = frozenset({"TransactionConflictException", "TransactionInProgressException"})
TTL_SECONDS = int(CART_TTL.total_seconds())
_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


@dataclass(frozen=True)
class CartState:
    """A cart as stored: its lines (product id -> qty), version and the raw item it came from."""

    cart_id: str
    lines: dict[str, int] = field(default_factory=dict)
    version: int = 0
    expires_at: int = 0
    last_order_id: str | None = None
    last_order_version: int | None = None
    raw: dict = field(default_factory=dict, repr=False)

    def is_live(self, now: float | None = None) -> bool:
        return self.expires_at > (time.time() if now is None else now)


class CartBusy(Exception):
    """The cart item is part of a transaction in progress (a checkout): try the write again."""


class CartConditionFailed(Exception):
    """The write's condition failed; `item` is the cart as it was (None: no such item)."""

    def __init__(self, item: dict | None) -> None:
        super().__init__("cart condition failed")
        self.item = item


def _dynamodb():
    return aws.client("dynamodb")


def _table() -> str:
    return settings.CARTS_TABLE


def cart_state(cart_id: str, item: dict | None) -> CartState | None:
    """A raw item as a CartState; None for no item (an item without `version` has no lines yet)."""
    if not item:
        return None
    lines = {product_id: int(value["N"]) for product_id, value in item.get("lines", {}).get("M", {}).items()}
    last_version = item.get("last_order_version")
    return CartState(
        cart_id=cart_id,
        lines=lines,
        version=int(item["version"]["N"]) if "version" in item else 0,
        expires_at=int(item["expires_at"]["N"]) if "expires_at" in item else 0,
        last_order_id=item.get("last_order_id", {}).get("S"),
        last_order_version=int(last_version["N"]) if last_version else None,
        raw=item,
    )


def cart_item_read(*, cart_id: str, consistent: bool = True) -> CartState | None:
    """The stored cart (expired or not), or None."""
    answer = _dynamodb().get_item(
        TableName=_table(), Key={"cart_id": {"S": cart_id}}, ConsistentRead=consistent
    )
    return cart_state(cart_id, answer.get("Item"))


@dataclass
class CartUpdate:
    """One UpdateItem under construction: SET/REMOVE clauses, a condition, names and values."""

    now: int
    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    # `lines` is one of DynamoDB's reserved words: every attribute goes by a placeholder.
    names: dict[str, str] = field(
        default_factory=lambda: {"#lines": "lines", "#version": "version", "#expires": "expires_at"}
    )
    values: dict[str, dict] = field(default_factory=dict)

    def name(self, placeholder: str, attribute: str) -> str:
        self.names[placeholder] = attribute
        return placeholder

    def value(self, placeholder: str, value: dict) -> str:
        self.values[placeholder] = value
        return placeholder

    def touch(self, *, create: bool = False) -> None:
        """Bump the version and slide the expiry: part of every write."""
        one = self.value(":one", {"N": "1"})
        if create:
            self.value(":zero", {"N": "0"})
            self.sets.append(f"#version = if_not_exists(#version, :zero) + {one}")
        else:
            self.sets.append(f"#version = #version + {one}")
        self.sets.append(f"#expires = {self.value(':expires', {'N': str(self.now + TTL_SECONDS)})}")

    def require_live(self) -> None:
        now = self.value(":now", {"N": str(self.now)})
        self.conditions.append(f"(attribute_exists(#version) AND #expires > {now})")

    def require_missing_or_dead(self) -> None:
        now = self.value(":now", {"N": str(self.now)})
        self.conditions.append(f"(attribute_not_exists(#version) OR #expires <= {now})")

    def count_write(self, limit: WriteLimit | None) -> None:
        """Fold the client's write counter into this write, on condition it is under the limit."""
        if limit is None:
            return
        counter = self.name("#throttle", limit.attribute)
        self.values.setdefault(":zero", {"N": "0"})
        self.value(":one", {"N": "1"})
        self.sets.append(f"{counter} = if_not_exists({counter}, :zero) + :one")
        below = self.value(":limit", {"N": str(limit.limit)})
        self.conditions.append(f"(attribute_not_exists({counter}) OR {counter} < {below})")

    def expression(self) -> dict:
        update = "SET " + ", ".join(self.sets)
        if self.removes:
            update += " REMOVE " + ", ".join(self.removes)
        used = set(_PLACEHOLDER.findall(update + " " + " ".join(self.conditions)))
        # DynamoDB refuses placeholders that the expressions do not use.
        params = {
            "UpdateExpression": update,
            "ExpressionAttributeNames": {k: v for k, v in self.names.items() if k in used},
            "ExpressionAttributeValues": {k: v for k, v in self.values.items() if k in used},
        }
        if self.conditions:
            params["ConditionExpression"] = " AND ".join(self.conditions)
        return params


def cart_item_update(*, cart_id: str, update: CartUpdate) -> CartState:
    """Apply `update` to the cart item; the cart as it is now. CartConditionFailed with the old item."""
    try:
        answer = _dynamodb().update_item(
            TableName=_table(),
            Key={"cart_id": {"S": cart_id}},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **update.expression(),
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in TRANSACTION_CONFLICTS:
            raise CartBusy(code) from exc
        if code not in MISSING_ITEM_ERRORS:
            raise
        if code == CONDITION_FAILED and "Item" in exc.response:
            raise CartConditionFailed(exc.response["Item"]) from None
        # No old item came back (the item is missing, or the server does not return it): read it.
        state = cart_item_read(cart_id=cart_id)
        if code == "ValidationException" and state is not None and "lines" in state.raw:
            raise  # a real validation error on an item that has its map
        raise CartConditionFailed(state.raw if state else None) from None
    return cart_state(cart_id, answer["Attributes"])


def cart_attributes_remove(*, cart_id: str, names: list[str]) -> None:
    """Drop attributes (ended throttle windows) from an existing cart item; unconditional."""
    if not names:
        return
    placeholders = {f"#r{n}": name for n, name in enumerate(names)}
    _dynamodb().update_item(
        TableName=_table(),
        Key={"cart_id": {"S": cart_id}},
        UpdateExpression="REMOVE " + ", ".join(placeholders),
        ExpressionAttributeNames=placeholders,
        ConditionExpression="attribute_exists(cart_id)",
    )


def cart_checkout_update(
    *,
    cart_id: str,
    version: int,
    product_ids: list[str],
    order_id: str,
    throttle: WriteLimit | None,
    now: int,
) -> dict:
    """The cart's part of checkout's transaction (a TransactItems `Update`): on condition that the
    cart is still at `version` (exactly the lines that were ordered), remove those lines, bump the
    version and mark the order made from it; count the client's checkout in its throttle window."""
    update = CartUpdate(now=now)
    one = update.value(":one", {"N": "1"})
    update.sets.append(f"#version = #version + {one}")
    update.sets.append(f"last_order_id = {update.value(':order', {'S': order_id})}")
    read = update.value(":read", {"N": str(version)})
    update.sets.append(f"last_order_version = {read}")
    for n, product_id in enumerate(product_ids):
        update.removes.append(f"#lines.{update.name(f'#p{n}', product_id)}")
    update.conditions.append(f"#version = {read}")
    update.count_write(throttle)
    return _transact_update(cart_id, update)


def cart_throttle_update(*, cart_id: str, throttle: WriteLimit, now: int) -> dict:
    """A TransactItems `Update` that only counts the client's write in its throttle window (an
    item that did not exist is made with no lines, and expires like a cart)."""
    update = CartUpdate(now=now)
    expires = update.value(":expires", {"N": str(now + TTL_SECONDS)})
    update.sets.append(f"#expires = if_not_exists(#expires, {expires})")
    update.count_write(throttle)
    return _transact_update(cart_id, update)


def _transact_update(cart_id: str, update: CartUpdate) -> dict:
    return {
        "Update": {
            "TableName": _table(),
            "Key": {"cart_id": {"S": cart_id}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **update.expression(),
        }
    }

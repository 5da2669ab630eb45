"""Opaque, signed cursors over DynamoDB's LastEvaluatedKey, and the page shape.

A cursor names the listing it belongs to, so a cursor from one category cannot be replayed on
another, and it is signed so that a client can neither forge nor alter the key inside it.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from cloudcart.errors import InvalidCursor

_SALT = "cloudcart.pagination.cursor"


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None  # opaque cursor for the next page, None on the last page


def encode_cursor(*, listing: str, key: dict[str, str]) -> str:
    """`key` maps key attribute names to string values (all our key attributes are strings)."""
    return signing.dumps({"l": listing, "k": key}, salt=_SALT, compress=True)


def decode_cursor(cursor: str, *, listing: str, key_names: frozenset[str]) -> dict[str, str]:
    try:
        payload = signing.loads(cursor, salt=_SALT, max_age=settings.CURSOR_MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(payload, dict) or payload.get("l") != listing:
        raise InvalidCursor()
    key = payload.get("k")
    if (
        not isinstance(key, dict)
        or set(key) != key_names
        or not all(isinstance(v, str) and v for v in key.values())
    ):
        raise InvalidCursor()
    return key


def page_size(raw: str | None) -> int:
    """The `limit` query parameter: default 20, an integer in 1..100, else a 400."""
    from rest_framework.exceptions import ValidationError

    if raw is None or raw == "":
        return settings.PAGE_SIZE_DEFAULT
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= settings.PAGE_SIZE_MAX or not raw.strip().isdigit():
        raise ValidationError({"limit": [f"Must be an integer from 1 to {settings.PAGE_SIZE_MAX}."]})
    return size

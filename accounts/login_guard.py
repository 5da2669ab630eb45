"""Brute-force guard on sign-in: attempts reserved per account and per address, before Cognito is
asked, in the shared throttle table (every gunicorn worker and host sees one count).

Each counter is one item holding the attempts `left` before a lock. A sign-in first takes one
with a conditional UpdateItem (`left = left - 1` only while `left > 0`), so twenty parallel
guesses cannot all pass a read that saw none: exactly `left` of them go on to Cognito. An
attempt that Cognito answers with anything but a wrong password (success, not confirmed, Cognito
down) is given back: only failures count.

The last attempt starts a lock of `lock_seconds` from that moment (no fixed windows, so a burst
across a window's edge gets no second allowance). Once it ends, a new round opens with a lock
twice as long (LOGIN_LOCK_SECONDS, then doubled up to LOGIN_LOCK_MAX_SECONDS): a person who
mistypes waits a minute, a guesser who keeps going soon waits an hour per few guesses. A counter
left alone for LOGIN_FAILURE_MEMORY_SECONDS starts afresh. A locked account refuses the right
password too: letting it through would let guessing go on until it hits. Counted keys are
hashes: no e-mail or address is stored in clear.
"""

import time
from dataclasses import dataclass

from botocore.exceptions import ClientError
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts.errors import LoginThrottled
from cloudcart import aws
from cloudcart.errors import ServiceUnavailable
from cloudcart.logs import short_hash

# Conditional writes lost to a parallel sign-in that opened a new round: read and try again.
_ATTEMPTS = 8


def client_address(request) -> str:
    """The caller's address as DRF's throttles see it (X-Forwarded-For trusted for NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int


@dataclass(frozen=True)
class LoginAttempt:
    """A reserved attempt: give it back (`login_attempt_release`) unless the password was wrong."""

    keys: tuple[str, ...]


def _counters(*, email: str, address: str) -> tuple[_Counter, ...]:
    return (
        _Counter(f"login#account#{short_hash(email.strip().lower())}", settings.LOGIN_FAILURES_PER_ACCOUNT),
        _Counter(f"login#address#{short_hash(address)}", settings.LOGIN_FAILURES_PER_ADDRESS),
    )


def _expires(now: float) -> dict:
    """Kept while it can still matter, then DynamoDB's TTL may delete it."""
    return {"N": str(int(now + settings.LOGIN_FAILURE_MEMORY_SECONDS + settings.LOGIN_LOCK_MAX_SECONDS))}


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _take(key: str, *, now: float) -> tuple[bool, dict]:
    """One attempt from the current round, if it has any left and is not stale: (True, {}), or
    (False, the item as it stands) from the refused write itself (the web role may not read)."""
    try:
        aws.client("dynamodb").update_item(
            TableName=settings.THROTTLE_TABLE,
            Key={"key": {"S": key}},
            UpdateExpression="SET #left = #left - :one, #last = :now, expires_at = :expires",
            ConditionExpression="#left > :zero AND #last > :stale",
            ExpressionAttributeNames={"#left": "left", "#last": "last"},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":zero": {"N": "0"},
                ":now": {"N": repr(now)},
                ":stale": {"N": repr(now - settings.LOGIN_FAILURE_MEMORY_SECONDS)},
                ":expires": _expires(now),
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if _is_condition_failure(exc):
            return False, exc.response.get("Item") or {}
        raise
    return True, {}


def _open(counter: _Counter, *, item: dict, now: float) -> bool:
    """Open a new round and take its first attempt, on condition that the item is as read."""
    lock = settings.LOGIN_LOCK_SECONDS
    if item and now - float(item["last"]["N"]) <= settings.LOGIN_FAILURE_MEMORY_SECONDS:
        lock = min(settings.LOGIN_LOCK_MAX_SECONDS, 2 * int(item["lock_seconds"]["N"]))  # locked before
    if item:
        condition = "#last = :last_read"
        values = {":last_read": item["last"]}
    else:
        condition, values = "attribute_not_exists(#last)", {}
    try:
        aws.client("dynamodb").update_item(
            TableName=settings.THROTTLE_TABLE,
            Key={"key": {"S": counter.key}},
            UpdateExpression="SET #left = :left, #last = :now, lock_seconds = :lock, expires_at = :expires",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#left": "left", "#last": "last"},
            ExpressionAttributeValues={
                ":left": {"N": str(counter.limit - 1)},
                ":now": {"N": repr(now)},
                ":lock": {"N": str(lock)},
                ":expires": _expires(now),
                **values,
            },
        )
    except ClientError as exc:
        if _is_condition_failure(exc):
            return False
        raise
    return True


def _reserve(counter: _Counter, *, now: float) -> None:
    """Take one attempt from `counter`, or raise LoginThrottled while its lock lasts."""
    for _ in range(_ATTEMPTS):
        taken, item = _take(counter.key, now=now)
        if taken:
            return
        fresh = item and now - float(item["last"]["N"]) <= settings.LOGIN_FAILURE_MEMORY_SECONDS
        if fresh and int(item["left"]["N"]) > 0:
            continue  # a parallel sign-in opened a new round meanwhile
        if fresh:
            lock_ends = float(item["last"]["N"]) + int(item["lock_seconds"]["N"])
            if lock_ends > now:
                raise LoginThrottled(wait=max(1, int(lock_ends - now) + 1))
        if _open(counter, item=item, now=now):
            return
    raise ServiceUnavailable()  # contended beyond reason: let the client retry


def login_attempt_reserve(*, email: str, address: str, now: float | None = None) -> LoginAttempt:
    """Count one attempt for this account and this address, or raise LoginThrottled when either
    is locked (then nothing stays counted)."""
    now = time.time() if now is None else now
    reserved: list[str] = []
    try:
        for counter in _counters(email=email, address=address):
            _reserve(counter, now=now)
            reserved.append(counter.key)
    except BaseException:
        login_attempt_release(LoginAttempt(keys=tuple(reserved)))
        raise
    return LoginAttempt(keys=tuple(reserved))


def login_attempt_release(attempt: LoginAttempt) -> None:
    """Give a reserved attempt back (it was not a wrong password)."""
    for key in attempt.keys:
        try:
            aws.client("dynamodb").update_item(
                TableName=settings.THROTTLE_TABLE,
                Key={"key": {"S": key}},
                UpdateExpression="SET #left = #left + :one",
                ConditionExpression="attribute_exists(#left)",
                ExpressionAttributeNames={"#left": "left"},
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):  # gone (expired): nothing to give back
                raise

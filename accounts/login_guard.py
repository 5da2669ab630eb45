"""Brute-force guard on sign-in: failures counted per account and per address in the shared
throttle table (every gunicorn worker and host sees one count), fixed windows.

Before Cognito is asked, one BatchGetItem reads both counts; at the limit, sign-in is 429 with
Retry-After until the window ends, whatever the password (so guessing cannot go on). Each failure
adds one to both counts. Counted keys are hashes: no e-mail or address is stored in clear.
"""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts.errors import LoginThrottled
from cloudcart.logs import short_hash
from cloudcart.throttling import ThrottleCounter, throttle_hit


def client_address(request) -> str:
    """The caller's address as DRF's throttles see it (X-Forwarded-For trusted for NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)


def _keys(*, email: str, address: str) -> list[tuple[str, int]]:
    return [
        (f"login_fail#account#{short_hash(email.strip().lower())}", settings.LOGIN_FAILURES_PER_ACCOUNT),
        (f"login_fail#address#{short_hash(address)}", settings.LOGIN_FAILURES_PER_ADDRESS),
    ]


def _window(now: float) -> tuple[int, float]:
    seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
    window = int(now // seconds)
    return window, (window + 1) * seconds - now


def login_guard_check(*, email: str, address: str, now: float | None = None) -> None:
    """Raise LoginThrottled when this account or this address has used up its failures."""
    now = time.time() if now is None else now
    window, remaining = _window(now)
    keys = _keys(email=email, address=address)
    counts = {
        counter.key: int(counter.hits or 0)
        for counter in ThrottleCounter.batch_get([f"{key}#{window}" for key, _ in keys])
    }
    if any(counts.get(f"{key}#{window}", 0) >= limit for key, limit in keys):
        raise LoginThrottled(wait=max(1, int(remaining) + 1))


def login_failure_record(*, email: str, address: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    for key, _limit in _keys(email=email, address=address):
        throttle_hit(key=key, window_seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS, now=now)

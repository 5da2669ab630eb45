"""Per-client rate limits on writes, counted in DynamoDB so every gunicorn worker and host agrees.

DRF's own throttles keep their history in Django's cache; the default LocMem cache is per process,
so N workers (and M hosts) would each allow the full rate. DynamoDB is already our one shared,
managed store. Two ways to count, both fixed windows:

- Folded (`WriteLimit`, used by the cart and checkout): the counter is an attribute of the
  client's own cart item (`t#<scope>#<window>`), bumped by the same conditional UpdateItem (or
  transaction) that does the write, on condition that it is below the limit. No extra round trip
  and no extra call; the client is the cart identity (cart/identity.py: the guest's cart id, or
  the signed-in customer), the same scope as its Idempotency-Keys. A client that drops its cookie
  starts a new cart and a new count: limits by address belong at the edge (a rate-based rule on
  the load balancer), which costs the app nothing.
- Separate (`WriteRateThrottle`, for views without a cart item to fold into, and
  `address_limit_check` for a checkout from a client with no identity at all): one atomic
  `UpdateItem ... ADD hits 1` on the throttle table per write, per client address.
"""

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.models import Model
from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from cloudcart.aws import DynamoMeta
from cloudcart.logs import short_hash


class ThrottleCounter(Model):
    """One row per (scope, client, window): how many writes that client made in that window."""

    class Meta(DynamoMeta):
        table_name = settings.THROTTLE_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()


@dataclass(frozen=True)
class WriteLimit:
    """A client's limit for one scope in the current fixed window, to fold into its own write."""

    scope: str
    limit: int
    window_seconds: int
    now: float

    @property
    def window(self) -> int:
        return int(self.now // self.window_seconds)

    @property
    def attribute(self) -> str:
        """The counter's attribute name on the client's item (one per scope and window)."""
        return f"{THROTTLE_ATTRIBUTE_PREFIX}{self.scope}#{self.window}"

    def wait(self) -> float:
        return (self.window + 1) * self.window_seconds - self.now

    def exceeded(self) -> Throttled:
        return Throttled(wait=max(1, math.ceil(self.wait())))

    def is_reached(self, item: dict | None) -> bool:
        """True when `item` (a raw DynamoDB item) already holds `limit` hits in this window."""
        value = (item or {}).get(self.attribute)
        return value is not None and int(value["N"]) >= self.limit


# Counters folded into a client's item are named `t#<scope>#<window>`.
THROTTLE_ATTRIBUTE_PREFIX = "t#"


def rate_parse(rate: str) -> tuple[int, int]:
    """ "20/min" -> (20, 60): the count and the window in seconds (DRF's rate format)."""
    count, period = rate.split("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def write_limit(*, scope: str, now: float | None = None) -> WriteLimit | None:
    """The limit of `scope` now (settings.THROTTLE_RATES, read per request), or None if unlimited."""
    rate = settings.THROTTLE_RATES.get(scope)
    if not rate:
        return None
    count, seconds = rate_parse(rate)
    return WriteLimit(
        scope=scope, limit=count, window_seconds=seconds, now=time.time() if now is None else now
    )


def throttle_stale_attributes(item: dict, *, now: float | None = None) -> list[str]:
    """Folded counters of windows that have ended (any scope): safe to remove from the item."""
    now = time.time() if now is None else now
    stale = []
    for name in item:
        if not name.startswith(THROTTLE_ATTRIBUTE_PREFIX):
            continue
        scope = name[len(THROTTLE_ATTRIBUTE_PREFIX) :].rsplit("#", 1)[0]
        limit = write_limit(scope=scope, now=now)
        if limit is None or name != limit.attribute:
            stale.append(name)
    return stale


def throttle_hit(*, key: str, window_seconds: int, now: float) -> tuple[int, float]:
    """Count one hit for `key` in the current window; return (hits so far, seconds until it ends)."""
    window = int(now // window_seconds)
    window_end = (window + 1) * window_seconds
    counter = ThrottleCounter(f"{key}#{window}")
    counter.update(
        actions=[
            ThrottleCounter.hits.add(1),
            # Kept a window past its end, then DynamoDB's TTL may delete it.
            ThrottleCounter.expires_at.set(datetime.fromtimestamp(window_end + window_seconds, UTC)),
        ]
    )
    return int(counter.hits), window_end - now


def client_address(request) -> str:
    """The client's address: X-Forwarded-For trusted for `NUM_PROXIES` hops (the ALB), else the
    peer's. gunicorn believes forwarded headers only from the ALB's subnets (FORWARDED_ALLOW_IPS)."""
    return BaseThrottle().get_ident(request)


def address_hit(*, request, scope: str, rate: str) -> float | None:
    """Count one write of `request`'s address under `scope`; the seconds to wait when past `rate`."""
    count, duration = rate_parse(rate)
    key = f"{scope}#{duration}#{short_hash(client_address(request))}"
    hits, remaining = throttle_hit(key=key, window_seconds=duration, now=time.time())
    return remaining if hits > count else None


def address_limit_check(*, request, scope: str) -> None:
    """Raise Throttled (429 + Retry-After) when `request`'s address is past `scope`'s rate."""
    rate = settings.THROTTLE_RATES.get(scope)
    if not rate:
        return
    wait = address_hit(request=request, scope=scope, rate=rate)
    if wait is not None:
        raise Throttled(wait=max(1, math.ceil(wait)))


class WriteRateThrottle(SimpleRateThrottle):
    """Limits a client's unsafe requests (POST/PATCH/PUT/DELETE) per scope; reads are never throttled.

    The client is its address (`client_address`), not its cart id: a client can drop a cart
    cookie to start afresh, it cannot as easily move address.
    Rates come from settings.THROTTLE_RATES at request time (env: THROTTLE_<SCOPE>_RATE).
    """

    def __init__(self):
        self.wait_seconds: float | None = None

    def get_rate(self):  # read per request, so settings overrides (and tests) take effect
        return settings.THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        self.scope = getattr(view, "throttle_scope", None)
        self.rate = self.get_rate()
        if not self.scope or not self.rate:
            return True
        self.wait_seconds = address_hit(request=request, scope=self.scope, rate=self.rate)
        return self.wait_seconds is None

    def wait(self):
        return None if self.wait_seconds is None else max(1, math.ceil(self.wait_seconds))


def throttle_writes(*, scope: str):
    """Class decorator: rate-limit a view's writes per client under `scope` (see THROTTLE_RATES)."""

    def decorate(view_class):
        view_class.throttle_scope = scope
        view_class.throttle_classes = [*view_class.throttle_classes, WriteRateThrottle]
        return view_class

    return decorate

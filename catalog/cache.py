"""The bounded-staleness, per-process cache of catalog GET answers (rendered JSON + ETag).

The three public catalog GET views use it (see catalog/views.py). Cart answers price their lines
from its product records (`catalog_records_cached`, the same bound and stale-if-error); checkout
never uses it: it prices and checks stock with consistent reads.

- Fresh: an answer is served at most `CATALOG_CACHE_SECONDS` after the DynamoDB read that made it
  began; 0 turns the cache off. A hot answer past half its life is re-read in the background
  while the current one is still served, so readers rarely wait for DynamoDB at all.
- Single flight: concurrent readers of one key share ONE read and its outcome, success or
  failure, so when DynamoDB is slow or down they do not each wait for the same failure in turn.
  A transient failure (AWS unreachable, timing out, throttling) is also the answer for that key
  for `FAILURE_HOLD_SECONDS` more: the next readers do not start another doomed read at once.
- Stale if error: when the read fails transiently, the last good answer is served for up to
  `CATALOG_STALE_IF_ERROR_SECONDS` past its freshness (with `Age`, `max-age=0`); after that, 503.
- A bulkhead: at most `CATALOG_READ_SLOTS` threads of a process wait on catalog reads at once (one
  fewer than gunicorn's threads), so `/healthz` and other paths always find a free thread. When
  the slots are taken by slow reads, a reader gets the stale answer or a 503 at once.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework.renderers import JSONRenderer

from cloudcart.aws import is_transient_aws_error
from cloudcart.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

REFRESH_AFTER = 0.5  # of the bound: a hit older than this starts a background re-read
# A transient failure answers readers of its key this long without a new read.
FAILURE_HOLD_SECONDS = 1.0
# A read in flight longer than this means DynamoDB is slow or down: when every slot is taken by
# such reads, readers stop waiting for a slot. Healthy reads take milliseconds.
SLOW_READ_SECONDS = 0.5
SLOT_POLL_SECONDS = 0.05


class CachedJSON(NamedTuple):
    body: bytes
    etag: str  # a strong, quoted ETag of `body`
    loaded_at: float  # time.monotonic() when the DynamoDB read began
    stale: bool = False  # served past its freshness because the read that should replace it failed

    def age(self) -> float:
        return time.monotonic() - self.loaded_at

    def fresh_for(self) -> int:
        """Whole seconds this answer may still be served, by us or by a CDN, within the bound."""
        return max(0, int(settings.CATALOG_CACHE_SECONDS - self.age()))


_renderer = JSONRenderer()


def json_loaded(load: Callable[[], object]) -> CachedJSON:
    """Run `load` and render its data with DRF's own JSON renderer, with an ETag of the bytes."""
    started = time.monotonic()
    body = _renderer.render(load())
    etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    return CachedJSON(body=body, etag=etag, loaded_at=started)


class _Flight:
    """One read in progress; every reader of its key waits for it and shares its outcome."""

    __slots__ = ("done", "error", "started", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.started = time.monotonic()
        self.value: CachedJSON | None = None
        self.error: BaseException | None = None


class _Unavailable(ServiceUnavailable):
    default_detail = "The catalog is unavailable; please retry shortly."


class _CatalogCache:
    def __init__(self, *, ttl: float, grace: float, maxsize: int, slots: int) -> None:
        self.ttl = ttl
        self.keep = ttl + grace  # an answer's whole life: fresh, then stale-if-error
        self.maxsize = maxsize
        self.slots = max(1, slots)
        self.busy = 0  # threads holding a slot
        # Guards every mutation below. Reads of `entries` take no lock: a dict lookup is atomic.
        self.condition = threading.Condition()
        self.entries: dict = {}  # key -> CachedJSON, oldest load first
        self.flights: dict = {}  # key -> _Flight
        self.failures: dict = {}  # key -> (monotonic deadline, the transient error)

    # --- the read path -------------------------------------------------------------------------
    def __call__(self, key, load: Callable[[], object]) -> CachedJSON:
        entry = self.entries.get(key)
        if entry is not None and entry.age() < self.ttl:
            if entry.age() > self.ttl * REFRESH_AFTER and key not in self.flights:
                self._refresh_start(key, load)
            return entry
        if not self._slot_acquire():
            return self._stale_or_raise(key, _Unavailable(), own=True)
        try:
            with self.condition:
                entry = self.entries.get(key)
                if entry is not None and entry.age() < self.ttl:  # read by another while we waited
                    return entry
                held = self.failures.get(key)
                if held is not None and held[0] > time.monotonic():
                    return self._stale_or_raise(key, held[1], own=False)
                flight = self.flights.get(key)
                leader = flight is None
                if leader:
                    flight = self.flights[key] = _Flight()
            if leader:
                self._fly(key, flight, load)
            else:
                flight.done.wait()
        finally:
            self._slot_release()
        if flight.error is not None:
            return self._stale_or_raise(key, flight.error, own=leader)
        return flight.value

    def _fly(self, key, flight: _Flight, load: Callable[[], object]) -> None:
        try:
            flight.value = json_loaded(load)
        except Exception as exc:
            flight.error = exc
        with self.condition:
            if flight.value is not None:
                self.entries.pop(key, None)  # re-inserted last: the dict stays in load order
                self.entries[key] = flight.value
                self.failures.pop(key, None)
                self._evict()
            elif is_transient_aws_error(flight.error) or isinstance(flight.error, ServiceUnavailable):
                now = time.monotonic()
                if len(self.failures) >= self.maxsize:  # an outage under a crawl: stay bounded
                    self.failures = {k: v for k, v in self.failures.items() if v[0] > now}
                self.failures[key] = (now + FAILURE_HOLD_SECONDS, flight.error)
            self.flights.pop(key, None)
        flight.done.set()

    def _stale_or_raise(self, key, error: BaseException, *, own: bool) -> CachedJSON:
        """The last good answer within its grace when `error` means "AWS unavailable"; else raise.

        `own`: the error was raised in this thread. A shared transient one is raised anew per
        reader as a 503, so each keeps its own traceback.
        """
        transient = is_transient_aws_error(error) or isinstance(error, ServiceUnavailable)
        if transient:
            entry = self.entries.get(key)
            if entry is not None and entry.age() < self.keep:
                return entry._replace(stale=True)
        if transient and not own:
            raise _Unavailable() from error
        raise error  # the read's own answer: a 404, a bad cursor, or a bug (logged by the handler)

    # --- the bulkhead --------------------------------------------------------------------------
    def _slot_acquire(self) -> bool:
        with self.condition:
            while self.busy >= self.slots:
                oldest = min((f.started for f in self.flights.values()), default=time.monotonic())
                if time.monotonic() - oldest > SLOW_READ_SECONDS:
                    return False
                self.condition.wait(SLOT_POLL_SECONDS)
            self.busy += 1
            return True

    def _slot_release(self) -> None:
        with self.condition:
            self.busy -= 1
            self.condition.notify()

    # --- housekeeping --------------------------------------------------------------------------
    def _evict(self) -> None:
        """Drop answers past their whole life, then the oldest loads beyond `maxsize` (under lock)."""
        while self.entries:
            key, entry = next(iter(self.entries.items()))
            if len(self.entries) <= self.maxsize and entry.age() < self.keep:
                break
            del self.entries[key]

    def _refresh_start(self, key, load: Callable[[], object]) -> None:
        with self.condition:
            if key in self.flights:
                return
            flight = self.flights[key] = _Flight()
        _refresher().submit(self._refresh, key, flight, load)

    def _refresh(self, key, flight: _Flight, load: Callable[[], object]) -> None:
        self._fly(key, flight, load)
        if flight.error is not None:  # the entry expires as usual; readers then share a new read
            logger.warning("Background refresh of %s failed: %s", key, flight.error)


class _RecordCache:
    """Records by key (product id -> Product), each served at most the bound after the read that
    loaded it began; a read's transient failure falls back to copies within their grace. Misses
    are loaded together (one batch read). Records are shared between threads: read-only."""

    def __init__(self, *, ttl: float, grace: float, maxsize: int) -> None:
        self.ttl = ttl
        self.keep = ttl + grace
        self.maxsize = maxsize
        self.lock = threading.Lock()
        self.entries: dict = {}  # key -> (monotonic time its read began, record), oldest first

    def get_many(self, keys: list, load: Callable[[list], dict]) -> dict:
        now = time.monotonic()
        found, missing = {}, []
        for key in keys:
            entry = self.entries.get(key)
            if entry is not None and now - entry[0] < self.ttl:
                found[key] = entry[1]
            else:
                missing.append(key)
        if not missing:
            return found
        started = time.monotonic()
        try:
            loaded = load(missing)
        except Exception as exc:
            if not (is_transient_aws_error(exc) or isinstance(exc, ServiceUnavailable)):
                raise
            stale = {key: entry[1] for key in missing if (entry := self._kept(key, now)) is not None}
            if len(stale) < len(missing):
                raise _Unavailable() from exc
            return {**found, **stale}
        with self.lock:
            for key, record in loaded.items():
                self.entries.pop(key, None)  # re-inserted last: the dict stays in load order
                self.entries[key] = (started, record)
            while self.entries:
                key, (loaded_at, _) = next(iter(self.entries.items()))
                if len(self.entries) <= self.maxsize and time.monotonic() - loaded_at < self.keep:
                    break
                del self.entries[key]
        return {**found, **loaded}

    def _kept(self, key, now: float):
        entry = self.entries.get(key)
        return entry if entry is not None and now - entry[0] < self.keep else None


_lock = threading.Lock()
_cache: _CatalogCache | None = None
_records: _RecordCache | None = None
_executor: ThreadPoolExecutor | None = None


def _refresher() -> ThreadPoolExecutor:
    """Two background readers per process: refreshes never pile up against DynamoDB."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="catalog-cache")
        return _executor


def _current_cache() -> _CatalogCache | None:
    global _cache
    if settings.CATALOG_CACHE_SECONDS <= 0:
        return None
    cache = _cache
    if cache is not None:  # the hot path takes no lock
        return cache
    with _lock:
        if _cache is None:
            _cache = _CatalogCache(
                ttl=settings.CATALOG_CACHE_SECONDS,
                grace=settings.CATALOG_STALE_IF_ERROR_SECONDS,
                maxsize=settings.CATALOG_CACHE_MAX_ENTRIES,
                slots=settings.CATALOG_READ_SLOTS,
            )
        return _cache


@receiver(setting_changed)
def _reset_on_setting_change(*, setting, **kwargs):
    """Tests change the bound with override_settings: start from an empty cache with the new TTL."""
    global _cache, _records
    if setting.startswith("CATALOG_"):
        with _lock:
            _cache = _records = None


def catalog_json_cached(*, key, load: Callable[[], object]) -> CachedJSON:
    """The rendered answer for `key`: cached if its read began less than the bound ago, else read
    now (shared with concurrent readers); the last good answer, marked stale, if that read fails
    because AWS is unavailable and the answer is within its grace."""
    cache = _current_cache()
    if cache is None:
        return json_loaded(load)
    return cache(key, load)


def catalog_records_cached(*, keys: list, load: Callable[[list], dict]) -> dict:
    """Records by key: cached ones read less than the bound ago, the others loaded now by ONE call
    of `load(missing keys) -> {key: record}` (keys it leaves out are not cached: a product
    created meanwhile shows at once). If that load fails because AWS is unavailable, copies within
    their grace answer; without one, 503. With the cache off, every call loads."""
    global _records
    if settings.CATALOG_CACHE_SECONDS <= 0:
        return load(list(keys)) if keys else {}
    records = _records
    if records is None:
        with _lock:
            if _records is None:
                _records = _RecordCache(
                    ttl=settings.CATALOG_CACHE_SECONDS,
                    grace=settings.CATALOG_STALE_IF_ERROR_SECONDS,
                    maxsize=settings.CATALOG_CACHE_MAX_ENTRIES,
                )
            records = _records
    return records.get_many(list(dict.fromkeys(keys)), load)

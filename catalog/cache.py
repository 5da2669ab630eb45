"""The bounded-staleness, per-process cache of catalog GET answers (rendered JSON + ETag).

Only the three public catalog GET views use it (see catalog/views.py). `catalog.selectors` is
never cached: cart pricing and checkout call the selectors and so always see the current catalog.

An answer is served at most `CATALOG_CACHE_SECONDS` after the DynamoDB read that made it began;
0 turns the cache off. Concurrent misses of one key wait for a single read (no stampede), and a
hot answer past half its life is re-read in the background while the current one is still
served, so readers rarely wait for DynamoDB at all.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from cachetools import TLRUCache, cached
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework.renderers import JSONRenderer

logger = logging.getLogger(__name__)

REFRESH_AFTER = 0.5  # of the bound: a hit older than this starts a background re-read


class CachedJSON(NamedTuple):
    body: bytes
    etag: str  # a strong, quoted ETag of `body`
    loaded_at: float  # time.monotonic() when the DynamoDB read began

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


class _CatalogCache:
    def __init__(self, *, ttl: float, maxsize: int) -> None:
        self.ttl = ttl
        self.condition = threading.Condition()  # TLRUCache is not thread-safe; this guards it
        # Each entry expires `ttl` after its read began, however long the read took.
        self.entries = TLRUCache(maxsize=maxsize, ttu=lambda key, value, now: value.loaded_at + ttl)
        # cachetools' `condition` makes concurrent misses of one key wait for one read.
        self.get = cached(self.entries, key=lambda key, load: key, condition=self.condition)(
            lambda key, load: json_loaded(load)
        )
        self.refreshing: set = set()

    def __call__(self, key, load: Callable[[], object]) -> CachedJSON:
        value = self.get(key, load)
        if value.age() > self.ttl * REFRESH_AFTER:
            with self.condition:
                start = key not in self.refreshing
                self.refreshing.add(key)
            if start:
                _refresher().submit(self._refresh, key, load)
        return value

    def _refresh(self, key, load: Callable[[], object]) -> None:
        try:
            value = json_loaded(load)
            with self.condition:
                self.entries[key] = value
        except Exception as exc:  # the entry expires as usual and the next reader reads itself
            logger.warning("Background refresh of %s failed: %s", key, exc)
        finally:
            with self.condition:
                self.refreshing.discard(key)


_lock = threading.Lock()
_cache: _CatalogCache | None = None
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
                ttl=settings.CATALOG_CACHE_SECONDS, maxsize=settings.CATALOG_CACHE_MAX_ENTRIES
            )
        return _cache


@receiver(setting_changed)
def _reset_on_setting_change(*, setting, **kwargs):
    """Tests change the bound with override_settings: start from an empty cache with the new TTL."""
    global _cache
    if setting.startswith("CATALOG_CACHE_"):
        with _lock:
            _cache = None


def catalog_json_cached(*, key, load: Callable[[], object]) -> CachedJSON:
    """The rendered answer for `key`: cached if its read began less than the bound ago, else read now."""
    cache = _current_cache()
    if cache is None:
        return json_loaded(load)
    return cache(key, load)

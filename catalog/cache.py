"""The bounded-staleness, per-process cache of catalog GET answers (rendered JSON + ETag).

Only the three public catalog GET views use it (see catalog/views.py). `catalog.selectors` is
never cached: cart pricing and checkout call the selectors (with consistent reads) and so always
see the current catalog. An entry lives at most `CATALOG_CACHE_SECONDS`; 0 turns the cache off.
"""

import hashlib
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from cachetools import TTLCache, cached
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework.renderers import JSONRenderer


class CachedJSON(NamedTuple):
    body: bytes
    etag: str  # a strong, quoted ETag of `body`
    loaded_at: float  # time.monotonic() when read from DynamoDB

    def fresh_for(self) -> int:
        """Whole seconds this answer may still be served, by us or by a CDN, within the bound."""
        return max(0, int(settings.CATALOG_CACHE_SECONDS - (time.monotonic() - self.loaded_at)))


_renderer = JSONRenderer()


def json_rendered(data) -> CachedJSON:
    """DRF's own JSON rendering of `data` and its ETag, computed once per cache entry."""
    body = _renderer.render(data)
    etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    return CachedJSON(body=body, etag=etag, loaded_at=time.monotonic())


def _load(key: str, load: Callable[[], object]) -> CachedJSON:
    return json_rendered(load())


def _cached_load(ttl: float) -> Callable[[str, Callable], CachedJSON]:
    # cachetools' `condition` makes concurrent misses of one key wait for a single DynamoDB read
    # instead of all reading at once when a hot entry expires (cache stampede).
    return cached(
        TTLCache(maxsize=settings.CATALOG_CACHE_MAX_ENTRIES, ttl=ttl),
        key=lambda key, load: key,
        condition=threading.Condition(),
    )(_load)


_lock = threading.Lock()
_loader: Callable[[str, Callable], CachedJSON] | None = None


def _current_loader() -> Callable[[str, Callable], CachedJSON]:
    global _loader
    ttl = settings.CATALOG_CACHE_SECONDS
    if ttl <= 0:
        return _load
    if _loader is None:
        with _lock:
            if _loader is None:
                _loader = _cached_load(ttl)
    return _loader


@receiver(setting_changed)
def _reset_on_setting_change(*, setting, **kwargs):
    """Tests change the bound with override_settings: start from an empty cache with the new TTL."""
    global _loader
    if setting.startswith("CATALOG_CACHE_"):
        with _lock:
            _loader = None


def catalog_json_cached(*, key: str, load: Callable[[], object]) -> CachedJSON:
    """The rendered answer for `key`: from the cache if read less than the bound ago, else `load()`ed."""
    return _current_loader()(key, load)

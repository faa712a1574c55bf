"""A small time-bounded cache for the hot decision path (agent status, org policies, catalogs).

Entries live `decision_cache_seconds` (default 1 s); local writes invalidate at once, and other
processes see a change within that bound. When an entry goes stale, one caller reloads it while
the others keep answering from the old value for that moment, so a busy process never sends a
burst of identical queries to the database at every expiry.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
STALE_GRACE_SECONDS = 0.5


class TtlCache(Generic[V]):
    def __init__(self, ttl: Callable[[], float], max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._loading: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        hit = self._items.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        if hit is not None:
            with self._lock:
                # Someone is reloading it: answer from the old value, but only just past its
                # expiry; beyond that (a stalled database), wait for a value of our own.
                if key in self._loading and now - hit[0] < STALE_GRACE_SECONDS:
                    return hit[1]
                self._loading.add(key)
        try:
            value = load()
            with self._lock:
                if len(self._items) >= self._max:
                    self._items.clear()
                self._items[key] = (time.monotonic() + self._ttl(), value)
        finally:
            if hit is not None:
                with self._lock:
                    self._loading.discard(key)
        return value

    def peek(self, key: Hashable) -> V | None:
        """The value if it is cached and fresh, without loading anything."""
        hit = self._items.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def invalidate(self, key: Hashable | None = None) -> None:
        with self._lock:
            if key is None:
                self._items.clear()
            else:
                self._items.pop(key, None)

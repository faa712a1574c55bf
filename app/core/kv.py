"""A tiny key-value store with expiry: Redis when configured, a process-local map otherwise.

Used for facts that must hold across web processes: assertion `jti`s already seen, revoked
token ids, replayed Slack requests. In embedded mode there is one process, so a local map is
exact.
"""

import threading
import time
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any, Protocol, TypeVar

from app.core.errors import TemporarilyUnavailable
from app.settings import get_settings

T = TypeVar("T")


class StoreUnavailable(TemporarilyUnavailable):
    """Redis did not answer. Callers with a durable source of the same fact (the database)
    fall back to it; any other caller answers 503 with Retry-After, never 500."""


class KeyValueStore(Protocol):
    def add(self, key: str, ttl_seconds: int) -> bool:
        """Set key if absent (SET NX EX); True when this call created it."""

    def put(self, key: str, ttl_seconds: int) -> None: ...

    def exists(self, key: str) -> bool: ...


class MemoryStore:
    def __init__(self) -> None:
        self._items: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + 30
        for key in [k for k, exp in self._items.items() if exp <= now]:
            del self._items[key]

    def add(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            expires = self._items.get(key)
            if expires is not None and expires > now:
                return False
            self._items[key] = now + max(ttl_seconds, 1)
            return True

    def put(self, key: str, ttl_seconds: int) -> None:
        with self._lock:
            self._items[key] = time.monotonic() + max(ttl_seconds, 1)

    def exists(self, key: str) -> bool:
        expires = self._items.get(key)
        return expires is not None and expires > time.monotonic()


@cache
def redis_failures() -> tuple[type[BaseException], ...]:
    """What a failed Redis round trip raises: redis-py's errors and the socket's. redis-py is
    imported here, on first use, not at import time: it is 7.7 MiB of a process's heap, and a
    process in embedded mode never talks to Redis."""
    import redis

    return (redis.RedisError, OSError)


@lru_cache(maxsize=16)
def redis_client(url: str, timeout: float = 2.0) -> Any:
    """One pooled, thread-safe Redis client per URL and timeout for the whole process: the
    store, the event bus, readiness and the worker heartbeat share it instead of each keeping
    its own cache of clients."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def redis_key(key: str) -> str:
    """Where RedisStore keeps `key` in Redis."""
    return "jitgate:kv:" + key


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis_client(url)
        self._errors = (redis.RedisError, OSError)

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._errors as exc:
            raise StoreUnavailable(
                "the shared store (Redis) is not reachable; retry shortly"
            ) from exc

    def add(self, key: str, ttl_seconds: int) -> bool:
        ex = max(ttl_seconds, 1)
        return bool(self._call(lambda: self._redis.set(redis_key(key), b"1", nx=True, ex=ex)))

    def put(self, key: str, ttl_seconds: int) -> None:
        ex = max(ttl_seconds, 1)
        self._call(lambda: self._redis.set(redis_key(key), b"1", ex=ex))

    def exists(self, key: str) -> bool:
        return bool(self._call(lambda: self._redis.exists(redis_key(key))))


@lru_cache
def get_store() -> KeyValueStore:
    url = get_settings().redis_url
    return RedisStore(url) if url else MemoryStore()

"""Per-org delivery slots: at most JITGATE_DELIVERY_ORG_CONCURRENCY third-party deliveries of one
org are in flight at once, so one org's slow endpoints cannot take every thread of the
deliveries pool. A task that finds its org's slots taken sends itself again a little later
(keeping its retry count) instead of waiting on a thread.

Slots are leases: Redis sorted sets shared by every worker process when Redis is configured, a
map in process memory otherwise. A lease outlives any delivery that honours the deadline, and
lapses on its own if the worker holding it dies.
"""

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from celery import Task

from app.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFER_SECONDS = (1.0, 3.0)  # a deferred delivery comes back within this, jittered
LEASE_MARGIN_SECONDS = 30.0


class Slots(Protocol):
    def acquire(self, org_id: str, *, cap: int, lease: float) -> str | None:
        """A token for a free slot of this org, or None when all `cap` are taken."""

    def release(self, org_id: str, token: str) -> None: ...


class MemorySlots:
    def __init__(self) -> None:
        self._held: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, org_id: str, *, cap: int, lease: float) -> str | None:
        now = time.monotonic()
        with self._lock:
            held = {t: exp for t, exp in self._held.get(org_id, {}).items() if exp > now}
            self._held[org_id] = held
            if len(held) >= cap:
                return None
            token = secrets.token_hex(8)
            held[token] = now + lease
            return token

    def release(self, org_id: str, token: str) -> None:
        with self._lock:
            self._held.get(org_id, {}).pop(token, None)


# Drop lapsed leases, then take a slot if fewer than the cap are held, in one atomic step.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisSlots:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._acquire = self._redis.register_script(_ACQUIRE)
        # Slots this process could not give back while Redis was down. Redis keeps the slot
        # (append-only file) until its lease lapses, which would hold the org's deliveries back
        # for a minute after the outage; they are given back before the next acquire instead.
        self._unreleased: list[tuple[str, str]] = []
        self._guard = threading.Lock()

    @staticmethod
    def _key(org_id: str) -> str:
        return f"jitgate:delivery-slots:{org_id}"

    def acquire(self, org_id: str, *, cap: int, lease: float) -> str | None:
        self._release_owed()
        now, token = time.time(), secrets.token_hex(8)
        args = [now, cap, now + lease, token, int(lease) + 1]
        return token if self._acquire(keys=[self._key(org_id)], args=args) == 1 else None

    def release(self, org_id: str, token: str) -> None:
        import redis

        try:
            self._redis.zrem(self._key(org_id), token)
        except redis.RedisError:
            log.warning("delivery slot of %s kept until Redis answers again", org_id)
            with self._guard:
                self._unreleased.append((org_id, token))

    def _release_owed(self) -> None:
        with self._guard:
            owed, self._unreleased = self._unreleased, []
        for org_id, token in owed:
            self.release(org_id, token)  # owed again if Redis is still away


@lru_cache
def slots() -> Slots:
    url = get_settings().redis_url
    return RedisSlots(url) if url else MemorySlots()


def in_org_slot(task: Task, org_id: str, deliver: Callable[[], T]) -> T | None:
    """Run deliver() in one of the org's slots; with none free, send the task again later and
    return None. The copy keeps the retry count, so waiting for a slot costs no retries."""
    settings = get_settings()
    lease = 3 * settings.delivery_deadline_seconds + LEASE_MARGIN_SECONDS
    token = slots().acquire(org_id, cap=settings.delivery_org_concurrency, lease=lease)
    if token is None:
        _defer(task)
        return None
    try:
        return deliver()
    finally:
        slots().release(org_id, token)


def _defer(task: Task) -> None:
    request: Any = task.request
    countdown = random.uniform(*DEFER_SECONDS)  # noqa: S311 - jitter, not a secret
    log.info("%s deferred %.1fs: its org's delivery slots are taken", task.name, countdown)
    task.apply_async(
        args=request.args, kwargs=request.kwargs, countdown=countdown, retries=request.retries
    )

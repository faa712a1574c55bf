"""Rate limits and budgets: per agent (requests a minute, JIT requests an hour, pending JIT
requests at once) and per client address on the unauthenticated routes.

Counters are fixed windows that start at a key's first hit. Embedded mode keeps them in this
process (a dict under a lock, about a microsecond a hit: the `limits` package's own memory
storage costs more than ten on the hot path). With Redis every web process shares them through
the `limits` package's Redis storage: one round trip a hit (INCR and EXPIRE in one script), a
second only to tell a refused caller when to retry. The pending-JIT cap is no counter: it counts
the agent's pending rows, so a decision, a cancel or the expiry sweep makes room at once.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, select

from app.core.columns import aware
from app.core.errors import RateLimited
from app.jit.status import RequestStatus
from app.models import Agent, JitRequest
from app.settings import get_settings

log = logging.getLogger(__name__)
MINUTE, HOUR = 60, 3600
BUDGET_KEYS = ("requests_per_minute", "jit_requests_per_hour", "max_pending_jit")


@dataclass(frozen=True)
class Budget:
    requests_per_minute: int
    jit_requests_per_hour: int
    max_pending_jit: int


def effective_budget(overrides: dict[str, Any] | None) -> Budget:
    """The agent's own values where it has them, the org-wide defaults (settings) elsewhere."""
    settings, own = get_settings(), overrides or {}
    return Budget(
        own.get("requests_per_minute") or settings.agent_requests_per_minute,
        own.get("jit_requests_per_hour") or settings.agent_jit_requests_per_hour,
        own.get("max_pending_jit") or settings.agent_max_pending_jit,
    )


def merge_overrides(current: dict[str, Any] | None, change: dict[str, Any] | None) -> dict | None:
    """PATCH semantics: a value sets, a null resets that value, `"budget": null` resets all."""
    if change is None:
        return None
    merged = {k: v for k, v in {**(current or {}), **change}.items() if v is not None}
    return {k: merged[k] for k in BUDGET_KEYS if k in merged} or None


class Counter(Protocol):
    def hit(self, key: str, limit: int, window: int) -> int | None:
        """Count one hit: None within the limit, else whole seconds until the window ends."""

    def clear(self) -> None: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._windows: dict[str, list[float]] = {}  # key -> [window end (monotonic), hits]
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def hit(self, key: str, limit: int, window: int) -> int | None:
        key = f"{key}/{limit}/{window}"  # like the Redis keys: a new limit starts a new count
        now = time.monotonic()
        with self._lock:
            entry = self._windows.get(key)
            if entry is None or entry[0] <= now:
                if now >= self._next_sweep:
                    self._sweep(now)
                entry = self._windows[key] = [now + window, 0]
            entry[1] += 1
            return None if entry[1] <= limit else math.ceil(entry[0] - now)

    def _sweep(self, now: float) -> None:
        # Keys of addresses seen once would otherwise stay forever.
        self._next_sweep = now + MINUTE
        for key in [k for k, (end, _) in self._windows.items() if end <= now]:
            del self._windows[key]

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


class RedisCounter:
    def __init__(self, url: str) -> None:
        from limits.storage import RedisStorage
        from limits.strategies import FixedWindowRateLimiter

        self._storage = RedisStorage(url, socket_timeout=2, socket_connect_timeout=2)
        self._limiter = FixedWindowRateLimiter(self._storage)

    def hit(self, key: str, limit: int, window: int) -> int | None:
        import redis

        item = _item(limit, window)
        try:
            if self._limiter.hit(item, "jitgate", key):
                return None
            reset_at = self._limiter.get_window_stats(item, "jitgate", key).reset_time
        except redis.RedisError as exc:
            # A limit guards availability, not access: without Redis, admit and say so.
            log.warning("rate limit %s not enforced, Redis unavailable: %s", key, exc)
            return None
        return math.ceil(reset_at - time.time())

    def clear(self) -> None:
        self._storage.reset()


@lru_cache(maxsize=256)
def _item(limit: int, window: int) -> Any:
    from limits import RateLimitItemPerSecond

    return RateLimitItemPerSecond(limit, window)


@lru_cache
def get_counter() -> Counter:
    url = get_settings().redis_url
    return RedisCounter(url) if url else MemoryCounter()


def reset() -> None:
    """Forget every count (tests; an operator lifting a burst's refusals at once)."""
    get_counter().clear()
    get_counter.cache_clear()


def _enforce(key: str, limit: int, window: int, what: str) -> None:
    retry_after = get_counter().hit(key, limit, window)
    if retry_after is not None:
        raise RateLimited(
            f"over the limit of {limit} {what}; retry in {max(retry_after, 1)} s",
            retry_after=retry_after,
        )


def limit_agent_requests(org_id: str, agent_id: str, override: int | None) -> None:
    """One request of an agent on the token, check, ask or JIT routes."""
    settings = get_settings()
    if settings.rate_limits_enabled:
        limit = override or settings.agent_requests_per_minute
        _enforce(f"agent/{org_id}/{agent_id}", limit, MINUTE, "requests a minute for this agent")


def limit_address(address: str) -> None:
    """One request from a client address on an unauthenticated route."""
    settings = get_settings()
    if settings.rate_limits_enabled:
        limit = settings.address_requests_per_minute
        _enforce(f"address/{address}", limit, MINUTE, "requests a minute from this address")


def admit_jit_request(session: Session, *, agent: Agent, now: datetime) -> None:
    """Before a new JIT request is stored: the pending cap, then the hourly budget."""
    if not get_settings().rate_limits_enabled:
        return
    budget = effective_budget(agent.budget)
    # Two requests at once must not both see room under the cap: hold the agent's row
    # (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises every writer). FOR NO KEY UPDATE
    # (key_share): it excludes the other openers, but not the foreign-key checks of writes to
    # the agent's requests. FOR UPDATE blocked an approval's token mint, which already held the
    # org's audit head this opener wanted next: a deadlock, and a 500 for one of the two.
    session.execute(select(Agent.id).where(Agent.id == agent.id).with_for_update(key_share=True))
    count, earliest = session.execute(
        select(func.count(), func.min(JitRequest.pending_deadline)).where(
            JitRequest.agent_id == agent.id, JitRequest.status == RequestStatus.PENDING
        )
    ).one()
    if count >= budget.max_pending_jit:
        wait = (aware(earliest) - now).total_seconds() if earliest else MINUTE
        raise RateLimited(
            f"this agent already has {count} pending JIT requests, its limit; one must be "
            "decided, cancelled or expire first",
            retry_after=math.ceil(wait),
        )
    key = f"agent-jit/{agent.org_id}/{agent.id}"
    _enforce(key, budget.jit_requests_per_hour, HOUR, "JIT requests an hour for this agent")

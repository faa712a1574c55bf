"""Rate limits and budgets: per agent (requests a minute, JIT requests an hour, pending JIT
requests at once) and per client address on the unauthenticated routes.

Counters are fixed windows that start at a key's first hit. Embedded mode keeps them in this
process (a dict under a lock, about a microsecond a hit). With Redis every web process shares
them: one round trip a hit (INCRBY, PEXPIRE and PTTL in one Lua script), which for a request
made with an access token also reads the revocation list (limit_token_request): a permission
check in Redis mode makes one round trip, not two, and a hot token's requests share one round
trip for several (count_leases.py, which states the staleness bound). The pending-JIT cap is no counter: it counts
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
from app.identity import count_leases
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


# A fixed window in one round trip. KEYS[1] counts ARGV[2] hits; KEYS[2], when given, is a
# revoked token's key: such a request is refused (-1) before it is counted. Returns the count
# and the window's remaining milliseconds.
_HIT_SCRIPT = """
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return {-1, 0} end
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""
REVOKED = -1  # RedisCounter.hit: the `unless_revoked` key exists


def redis_counter_key(key: str, limit: int, window: int) -> str:
    """Where RedisCounter counts `key` (a new limit starts a new count)."""
    return f"jitgate:rl:{key}/{limit}/{window}"


@dataclass(frozen=True)
class Counted:
    """An agent's request counted by another module's script, in the round trip it makes
    anyway (the token endpoint's jti claim, app.identity.replay): its limit and, when the
    count is over it, whole seconds until the window ends."""

    limit: int
    retry_after: int | None

    @classmethod
    def of(cls, limit: int, count: int, left_ms: int) -> "Counted":
        return cls(limit, None if count <= limit else max(math.ceil(left_ms / 1000), 1))


def agent_request_counter(
    org_id: str, agent_id: str, override: int | None
) -> tuple[str, int] | None:
    """In Redis mode with limits on, the Redis key counting this agent's requests and its
    limit, for a script that counts the request along with its own question; else None (the
    caller then leaves the count to limit_agent_requests)."""
    settings = get_settings()
    if not settings.rate_limits_enabled or not isinstance(get_counter(), RedisCounter):
        return None
    limit = override or settings.agent_requests_per_minute
    return redis_counter_key(f"agent/{org_id}/{agent_id}", limit, MINUTE), limit


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        from app.core.kv import redis_client

        self._redis = redis_client(url)
        self._script = self._redis.register_script(_HIT_SCRIPT)
        self._errors = (redis.RedisError, OSError)

    def hit(
        self, key: str, limit: int, window: int, *, unless_revoked: str | None = None
    ) -> int | None:
        """As Counter.hit. With `unless_revoked` (a Redis key), REVOKED when that key exists,
        and then nothing is counted: one round trip for both questions of a token's request.
        Raises RedisError only when `unless_revoked` is given (the caller must then learn
        about the revocation elsewhere); a plain count admits while Redis is away."""
        try:
            _, retry_after = self.reserve(key, limit, window, 1, unless_revoked=unless_revoked)
        except self._errors as exc:
            if unless_revoked is not None:
                raise
            # A limit guards availability, not access: without Redis, admit and say so.
            log.warning("rate limit %s not enforced, Redis unavailable: %s", key, exc)
            return None
        return retry_after

    def reserve(
        self, key: str, limit: int, window: int, amount: int, *, unless_revoked: str | None
    ) -> tuple[int, int | None]:
        """Count `amount` hits at once: (how many of them are within the limit, and when none
        is, the seconds until the window ends, or REVOKED). Raises RedisError."""
        keys = [redis_counter_key(key, limit, window)]
        if unless_revoked is not None:
            keys.append(unless_revoked)
        count, left_ms = self._script(keys=keys, args=[window * 1000, amount])
        if count == REVOKED:
            return 0, REVOKED
        granted = min(amount, limit - (count - amount))
        return (granted, None) if granted > 0 else (0, max(math.ceil(left_ms / 1000), 1))

    def clear(self) -> None:
        for name in self._redis.scan_iter(match="jitgate:rl:*", count=1000):
            self._redis.delete(name)


@lru_cache
def get_counter() -> Counter:
    url = get_settings().redis_url
    return RedisCounter(url) if url else MemoryCounter()


def reset() -> None:
    """Forget every count (tests; an operator lifting a burst's refusals at once)."""
    get_counter().clear()
    get_counter.cache_clear()
    count_leases.LEASES.clear()


def _enforce(key: str, limit: int, window: int, what: str) -> None:
    retry_after = get_counter().hit(key, limit, window)
    if retry_after is not None:
        _refuse(limit, what, retry_after)


def _refuse(limit: int, what: str, retry_after: int) -> None:
    raise RateLimited(
        f"over the limit of {limit} {what}; retry in {max(retry_after, 1)} s",
        retry_after=retry_after,
    )


AGENT_LIMIT = "requests a minute for this agent"


def limit_token_request(org_id: str, agent_id: str, override: int | None, jti: str) -> None:
    """One request of an agent presenting an access token: the token must not be revoked,
    then the request counts (limit_agent_requests). With Redis both are one round trip; the
    revocation list is still read whatever happens to the count."""
    from app.identity import access_tokens  # it needs nothing from here; import on first use

    settings, counter = get_settings(), get_counter()
    if settings.rate_limits_enabled and isinstance(counter, RedisCounter):
        limit = override or settings.agent_requests_per_minute
        key = f"agent/{org_id}/{agent_id}"
        now = time.monotonic()
        leases = count_leases.LEASES
        if leases.take(key, jti, now=now):  # reserved by an earlier round trip (count_leases.py)
            return
        amount = leases.size(key, jti, limit, now=now)
        since = leases.revocations()
        revoked_key = access_tokens.redis_revoked_key(jti)
        try:
            granted, retry_after = counter.reserve(
                key, limit, MINUTE, amount, unless_revoked=revoked_key
            )
        except Exception as exc:  # Redis away: the database's revocations, and admit the count
            log.warning("rate limit %s not enforced, Redis unavailable: %s", key, exc)
            access_tokens.refuse_if_revoked(jti)
            return
        if retry_after == REVOKED:
            access_tokens.refuse_if_revoked(jti, known_revoked=True)
        if retry_after is not None:
            _refuse(limit, AGENT_LIMIT, retry_after)
        if limit >= count_leases.MIN_LIMIT:
            leases.grant(key, jti, granted, now=now, since=since)
        return
    access_tokens.refuse_if_revoked(jti)
    limit_agent_requests(org_id, agent_id, override)


def limit_agent_requests(
    org_id: str, agent_id: str, override: int | None, *, counted: Counted | None = None
) -> None:
    """One request of an agent on the token, check, ask or JIT routes. `counted`: the request
    was already counted (in the round trip of the token endpoint's jti claim); only refuse."""
    if counted is not None:
        if counted.retry_after is not None:
            _refuse(counted.limit, AGENT_LIMIT, counted.retry_after)
        return
    settings = get_settings()
    if settings.rate_limits_enabled:
        limit = override or settings.agent_requests_per_minute
        _enforce(f"agent/{org_id}/{agent_id}", limit, MINUTE, AGENT_LIMIT)


ADDRESS_LIMIT = "requests a minute from this address"


def limit_address(address: str) -> None:
    """One request from a client address on an unauthenticated route."""
    settings = get_settings()
    if settings.rate_limits_enabled:
        limit = settings.address_requests_per_minute
        _enforce(f"address/{address}", limit, MINUTE, ADDRESS_LIMIT)


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

"""Replay protection for client assertions: each (agent, jti) is accepted once until it expires.

With Redis the claim is a SET NX with expiry, shared by every web process. In embedded mode
the store is this process's memory, so each claimed jti is also written to the database (in
batches by app/services/row_writer.py, off the request path) and read back at start-up: a
restart does not reopen the window in which an unexpired assertion could be replayed. What a
crash can lose is the last batch (about 20 ms of claims). The sweep prunes expired claims.
The writing, reloading and pruning are app/services/durable_store.py's, shared with the other
security state the store keeps.
"""

import logging

import redis

from app.core import durable_store, row_writer
from app.core.kv import StoreUnavailable, get_store, redis_client, redis_key
from app.identity import rate_limits
from app.models import UsedAssertion
from app.settings import get_settings

log = logging.getLogger(__name__)


def _key(agent_id: str, jti: str) -> str:
    return f"jti:{agent_id}:{jti}"


def _ttl(expires_at: float, now: float) -> int:
    return max(int(expires_at - now) + get_settings().clock_leeway + 1, 1)


def claim(agent_id: str, jti: str, *, expires_at: float, now: float) -> bool:
    """True when this call is the first use of (agent, jti) before expires_at."""
    settings = get_settings()
    ttl = _ttl(expires_at, now)
    if not get_store().add(_key(agent_id, jti), ttl):
        return False
    if settings.embedded:
        row_writer.append(
            UsedAssertion,
            {"agent_id": agent_id, "jti": jti, "expires_at": durable_store.utc(now + ttl)},
        )
    return True


# A client may use a jti again once its first assertion has expired (RFC 7523 keeps jtis only
# for the assertion's life): the row of the old claim, if not pruned yet, is renewed.
row_writer.register(
    UsedAssertion, durable_store.upsert_renewing_expiry(UsedAssertion, ["agent_id", "jti"])
)


def prune() -> int:
    """Delete expired claims (run by the periodic sweep): they protect nothing any more."""
    return durable_store.prune_table(UsedAssertion)


def reload() -> int:
    """At start-up in embedded mode: the claims still unexpired go back into the store."""
    return durable_store.reload_table(UsedAssertion, lambda row: _key(row.agent_id, row.jti))


# The token endpoint's two questions to Redis in one round trip: the jti claim (SET NX EX, as
# RedisStore.add) and then, for a first use only, the agent's request count (as
# RedisCounter.hit's script). A replay counts nothing; it is refused before any token is made.
_CLAIM_AND_COUNT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {0, 0} end
local n = redis.call('INCR', KEYS[2])
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {n, ttl}
"""
_scripts: dict[str, object] = {}


def claim_counting(
    agent_id: str,
    jti: str,
    *,
    expires_at: float,
    now: float,
    org_id: str,
    override: int | None,
) -> tuple[bool, rate_limits.Counted | None]:
    """claim(), and in Redis mode (limits on) the agent's request counted in the same round
    trip: (first use, the count). The count is None when it was not taken here; the caller
    then counts as before (rate_limits.limit_agent_requests)."""
    counter = rate_limits.agent_request_counter(org_id, agent_id, override)
    if counter is None:
        return claim(agent_id, jti, expires_at=expires_at, now=now), None
    count_key, limit = counter
    url = get_settings().redis_url
    script = _scripts.get(url)
    if script is None:
        script = _scripts[url] = redis_client(url).register_script(_CLAIM_AND_COUNT)
    keys = [redis_key(_key(agent_id, jti)), count_key]
    try:
        count, left_ms = script(keys=keys, args=[_ttl(expires_at, now), rate_limits.MINUTE * 1000])
    except (redis.RedisError, OSError) as exc:  # the claim cannot be made: 503, never a 500
        log.warning("jti claim failed, Redis unavailable: %s", type(exc).__name__)
        raise StoreUnavailable("the shared store (Redis) is not reachable; retry shortly") from exc
    if count == 0:
        return False, None
    return True, rate_limits.Counted.of(limit, count, left_ms)

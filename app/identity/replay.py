"""Replay protection for client assertions: each (agent, jti) is accepted once until it expires.

With Redis the claim is a SET NX with expiry, shared by every web process. In embedded mode
the store is this process's memory, so each claimed jti is also written to the database (in
batches by app/core/row_writer.py, off the request path) and read back at start-up: a
restart does not reopen the window in which an unexpired assertion could be replayed. What a
crash can lose is the last batch (about 20 ms of claims). The sweep prunes expired claims.
The writing, reloading and pruning are app/core/durable_store.py's, shared with the other
security state the store keeps.

The token endpoint claims inside `claims_kept_by_token()`: a token issued there keeps its
assertion's claim in its own record (issued_token.assertion_jti, claim_expires_at), so a token
writes one row, not two (random-keyed rows were most of the row writer's CPU); a claim no token
took is written as its own row when the block ends, however it ends.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.core import durable_store, row_writer
from app.core.columns import aware
from app.core.kv import StoreUnavailable, get_store, redis_client, redis_failures, redis_key
from app.core.redis_script import LeanScript
from app.identity import deferred_address, rate_limits
from app.models import IssuedToken, UsedAssertion
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
        row = {"agent_id": agent_id, "jti": jti, "expires_at": durable_store.utc(now + ttl)}
        pending = _pending.get()
        if pending is None or not pending.keep(row):
            row_writer.append(UsedAssertion, row)
    return True


class _PendingClaims:
    """The claims of one claims_kept_by_token() block. A worker thread the request started
    shares it (the copied context) and may outlive the block (the request was cancelled while
    the thread verified): once the block has ended, a claim is written at once, not kept."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._closed = False
        self._lock = threading.Lock()

    def keep(self, row: dict[str, Any]) -> bool:
        with self._lock:
            if not self._closed:
                self._rows.append(row)
            return not self._closed

    def take(self, agent_id: str) -> dict[str, Any] | None:
        with self._lock:
            for index, row in enumerate(self._rows):
                if row["agent_id"] == agent_id:
                    return self._rows.pop(index)
        return None

    def write(self, *, close: bool = False) -> None:
        """Hand the kept claims to the row writer as their own rows (and keep no more)."""
        with self._lock:
            rows, self._rows = self._rows, []
            self._closed = self._closed or close
        for row in rows:
            row_writer.append(UsedAssertion, row)


# Claims made inside claims_kept_by_token(), not written yet (embedded mode).
_pending: ContextVar[_PendingClaims | None] = ContextVar("pending_claims", default=None)


@contextmanager
def claims_kept_by_token() -> Iterator[None]:
    """A token request: a token issued in the block keeps the agent's claim in its record
    (take_claim); every claim no token took is written as its own row on the way out, also
    when the block raised. Both go to the row writer, as a claim's row always did."""
    pending = _PendingClaims()
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
        pending.write(close=True)


def write_claims_now() -> None:
    """Hand this claims_kept_by_token() block's claims to the row writer now, as their own rows:
    a request about to wait (for audit room) must not keep its claim only in memory meanwhile,
    or a crash in the wait would let its assertion be replayed after a restart."""
    pending = _pending.get()
    if pending is not None:
        pending.write()


def take_claim(agent_id: str) -> dict[str, Any] | None:
    """The agent's claim made in this claims_kept_by_token() block, now the caller's to record
    (a token's record): {agent_id, jti, expires_at}, or None."""
    pending = _pending.get()
    return pending.take(agent_id) if pending is not None else None


# A client may use a jti again once its first assertion has expired (RFC 7523 keeps jtis only
# for the assertion's life): the row of the old claim, if not pruned yet, is renewed.
row_writer.register(
    UsedAssertion, durable_store.upsert_renewing_expiry(UsedAssertion, ["agent_id", "jti"])
)


def _claim_of_a_token_record(values: dict[str, Any]) -> row_writer.Item | None:
    """A token record the database refuses on its own (say, a scope longer than its column)
    must not take its assertion's claim with it: the claim is written as its own row, so a
    restart still refuses the assertion."""
    if values.get("assertion_jti") is None:
        return None
    claim = {"agent_id": values["agent_id"], "jti": values["assertion_jti"]}
    return UsedAssertion, claim | {"expires_at": values["claim_expires_at"]}


row_writer.register_salvage(IssuedToken, _claim_of_a_token_record)


def prune() -> int:
    """Delete expired claims (run by the periodic sweep): they protect nothing any more."""
    return durable_store.prune_table(UsedAssertion)


def reload() -> int:
    """At start-up in embedded mode: the claims still unexpired go back into the store, from
    their own rows and from the records of the tokens issued for them."""
    own = durable_store.reload_table(UsedAssertion, lambda row: _key(row.agent_id, row.jti))
    return own + _reload_token_claims()


def _reload_token_claims() -> int:
    from app.core.db import read_session

    now = time.time()
    claims = select(
        col(IssuedToken.agent_id), col(IssuedToken.assertion_jti), col(IssuedToken.claim_expires_at)
    ).where(col(IssuedToken.claim_expires_at) > durable_store.utc(now))
    with read_session() as session:
        rows = session.execute(claims).all()
    store = get_store()
    for agent_id, jti, expires_at in rows:
        store.put(_key(agent_id, jti), int(aware(expires_at).timestamp() - now) + 1)
    return len(rows)


# The token endpoint's questions to Redis in one round trip: the client address's count (when
# deferred to here: app.identity.deferred_address), the jti claim (SET NX EX, as RedisStore.add)
# and, for a first use only, the agent's request count (as RedisCounter.hit's script). An
# address over its limit claims nothing; a replay counts no agent request.
_CLAIM_AND_COUNT = """
local function hit(key)
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return n, ttl
end
if KEYS[3] then
  local n, ttl = hit(KEYS[3])
  if n > tonumber(ARGV[3]) then return {-1, ttl} end
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {0, 0} end
local n, ttl = hit(KEYS[2])
return {n, ttl}
"""
ADDRESS_OVER_LIMIT = -1
_scripts: dict[str, LeanScript] = {}


@dataclass(frozen=True)
class ClaimCall:
    """One run of the claim script: its keys and arguments, and what its reply is read with."""

    keys: list[str]
    args: list[Any]
    limit: int  # the agent's per-minute limit
    address: tuple[str, int, deferred_address.DeferredAddress] | None  # counted with it


def claim_call(
    agent_id: str, jti: str, *, expires_at: float, now: float, org_id: str, override: int | None
) -> ClaimCall | None:
    """The script run that claims the jti and counts the agent's request (and the client
    address, if deferred), or None when requests are not counted in Redis (embedded mode,
    limits off): then claim() alone, and the caller counts as before."""
    counter = rate_limits.agent_request_counter(org_id, agent_id, override)
    if counter is None:
        return None
    count_key, limit = counter
    keys = [redis_key(_key(agent_id, jti)), count_key]
    args: list[Any] = [_ttl(expires_at, now), rate_limits.MINUTE * 1000]
    address = deferred_address.counter()
    if address is not None:
        keys.append(address[0])
        args.append(address[1])
    return ClaimCall(keys, args, limit, address)


def claim_outcome(call: ClaimCall, reply: Any) -> tuple[bool, rate_limits.Counted | None]:
    """(first use, the agent's count) from the script's reply; an address found over its limit
    is refused here (429). `reply` may be the error the call raised: the claim was not made."""
    if isinstance(reply, BaseException):
        log.warning("jti claim failed, Redis unavailable: %s", type(reply).__name__)
        raise StoreUnavailable(
            "the shared store (Redis) is not reachable; retry shortly"
        ) from reply
    count, left_ms = reply
    if call.address is not None:
        call.address[2].counted = True
        if count == ADDRESS_OVER_LIMIT:
            deferred_address.refuse_over_limit(call.address[2], call.address[1], left_ms)
    if count == 0:
        return False, None
    return True, rate_limits.Counted.of(call.limit, count, left_ms)


def claim_counting(
    agent_id: str,
    jti: str,
    *,
    expires_at: float,
    now: float,
    org_id: str,
    override: int | None,
) -> tuple[bool, rate_limits.Counted | None]:
    """claim(), and in Redis mode (limits on) the agent's request and the client address (if
    deferred) counted in the same round trip: (first use, the agent's count). The count is None
    when it was not taken here; the caller then counts as before (limit_agent_requests)."""
    call = claim_call(
        agent_id, jti, expires_at=expires_at, now=now, org_id=org_id, override=override
    )
    if call is None:
        return claim(agent_id, jti, expires_at=expires_at, now=now), None
    try:
        reply: Any = script()(keys=call.keys, args=call.args)
    except redis_failures() as exc:  # the claim cannot be made: 503, never a 500
        reply = exc
    return claim_outcome(call, reply)


def script() -> LeanScript:
    url = get_settings().redis_url
    found = _scripts.get(url)
    if found is None:
        found = _scripts[url] = LeanScript(redis_client(url), _CLAIM_AND_COUNT)
    return found

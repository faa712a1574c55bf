"""Replay protection for client assertions: each (agent, jti) is accepted once until it expires.

With Redis the claim is a SET NX with expiry, shared by every web process. In embedded mode
the store is this process's memory, so each claimed jti is also written to the database (in
batches by app/services/row_writer.py, off the request path) and read back at start-up: a
restart does not reopen the window in which an unexpired assertion could be replayed. What a
crash can lose is the last batch (about 20 ms of claims). The sweep prunes expired claims.
The writing, reloading and pruning are app/services/durable_store.py's, shared with the other
security state the store keeps.
"""

from app.core import durable_store, row_writer
from app.core.kv import get_store
from app.models import UsedAssertion
from app.settings import get_settings


def _key(agent_id: str, jti: str) -> str:
    return f"jti:{agent_id}:{jti}"


def claim(agent_id: str, jti: str, *, expires_at: float, now: float) -> bool:
    """True when this call is the first use of (agent, jti) before expires_at."""
    settings = get_settings()
    ttl = int(expires_at - now) + settings.clock_leeway + 1
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

"""Replay protection for client assertions: each (agent, jti) is accepted once until it expires.

With Redis the claim is a SET NX with expiry, shared by every web process. In embedded mode
the store is this process's memory, so each claimed jti is also written to the database (in
batches by app/services/row_writer.py, off the request path) and read back at start-up: a
restart does not reopen the window in which an unexpired assertion could be replayed. What a
crash can lose is the last batch (about 20 ms of claims). The sweep prunes expired claims.
"""

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.kv import get_store
from app.models import UsedAssertion
from app.services import row_writer
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
            UsedAssertion, {"agent_id": agent_id, "jti": jti, "expires_at": _utc(now + ttl)}
        )
    return True


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _upsert_claims(session: Session, rows: list[dict[str, Any]]) -> None:
    """A client may use a jti again once its first assertion has expired (RFC 7523 keeps jtis
    only for the assertion's life): the row of the old claim, if not pruned yet, is renewed."""
    from sqlalchemy.dialects import postgresql, sqlite

    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = (postgresql.insert if postgres else sqlite.insert)(UsedAssertion)
    renew = {"expires_at": stmt.excluded.expires_at}
    session.execute(
        stmt.on_conflict_do_update(index_elements=["agent_id", "jti"], set_=renew), rows
    )


row_writer.register(UsedAssertion, _upsert_claims)


def _expired_before(now: float) -> Any:
    # The database decides; no evaluation on loaded objects (SQLite returns naive datetimes).
    return (
        delete(UsedAssertion)
        .where(col(UsedAssertion.expires_at) <= _utc(now))
        .execution_options(synchronize_session=False)
    )


def prune() -> int:
    """Delete expired claims (run by the periodic sweep): they protect nothing any more."""
    from app.db import rows_changed, session_scope

    with session_scope() as session:
        return rows_changed(session, _expired_before(time.time()))


def reload() -> int:
    """At start-up in embedded mode: the claims still unexpired go back into the store."""
    from app.db import session_scope
    from app.models._types import aware

    now = time.time()
    store = get_store()
    with session_scope() as session:
        rows = session.exec(
            select(UsedAssertion).where(col(UsedAssertion.expires_at) > _utc(now))
        ).all()
        for row in rows:
            store.put(_key(row.agent_id, row.jti), int(aware(row.expires_at).timestamp() - now) + 1)
        session.execute(_expired_before(now))
    return len(rows)

"""The key-value store for security state that must outlive the process: a dashboard session
signed out, an email sign-in link used, a Slack request already seen.

With Redis the store is shared by every web process and outlives each of them. In embedded
mode it is this process's memory, so every key is also written to the database (table
durable_key, in batches by app/core/row_writer.py, off the request path) and read back at
start-up: a restart does not bring back what was signed out or used. As with assertion replay
(app/identity/replay.py, which keeps its own table and uses the helpers below), what a crash
can lose is the last batch (about 20 ms); a graceful stop writes it. The sweep prunes expired
keys.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete
from sqlmodel import col, select

from app.core import row_writer
from app.core.durable_models import DurableKey
from app.core.kv import KeyValueStore, get_store
from app.settings import get_settings


class DurableStore:
    """A KeyValueStore: the process's store, with each key also recorded in embedded mode."""

    def add(self, key: str, ttl_seconds: int) -> bool:
        created = get_store().add(key, ttl_seconds)
        if created:
            _record(key, ttl_seconds)
        return created

    def put(self, key: str, ttl_seconds: int) -> None:
        get_store().put(key, ttl_seconds)
        _record(key, ttl_seconds)

    def exists(self, key: str) -> bool:
        return get_store().exists(key)  # in embedded mode reload() filled it at start-up


durable_store: KeyValueStore = DurableStore()


def _record(key: str, ttl_seconds: int) -> None:
    if get_settings().embedded:
        row_writer.append(DurableKey, {"key": key, "expires_at": utc(time.time() + ttl_seconds)})


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def upsert_renewing_expiry(model: Any, keys: list[str]) -> row_writer.TableWriter:
    """A row writer for a table of expiring keys: a key recorded again (a jti reused after its
    first assertion expired, a put that extends) renews the row's expiry if not pruned yet."""

    def write(connection: Connection, rows: list[dict[str, Any]]) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        postgres = connection.dialect.name == "postgresql"
        stmt = (postgresql.insert if postgres else sqlite.insert)(model.__table__)
        renew = {"expires_at": stmt.excluded.expires_at}
        connection.execute(stmt.on_conflict_do_update(index_elements=keys, set_=renew), rows)

    return write


def expired_before(model: Any, now: float) -> Any:
    # The database decides; no evaluation on loaded objects (SQLite returns naive datetimes).
    return (
        delete(model)
        .where(col(model.expires_at) <= utc(now))
        .execution_options(synchronize_session=False)
    )


def prune_table(model: Any) -> int:
    """Delete expired rows (run by the periodic sweep): they protect nothing any more."""
    from app.core.db import rows_changed, session_scope

    with session_scope() as session:
        return rows_changed(session, expired_before(model, time.time()))


def reload_table(model: Any, key_of: Callable[[Any], str]) -> int:
    """At start-up in embedded mode: the rows still unexpired go back into the store."""
    from app.core.columns import aware
    from app.core.db import session_scope

    now = time.time()
    store = get_store()
    with session_scope() as session:
        rows = session.exec(select(model).where(col(model.expires_at) > utc(now))).all()
        for row in rows:
            store.put(key_of(row), int(aware(row.expires_at).timestamp() - now) + 1)
        session.execute(expired_before(model, now))
    return len(rows)


row_writer.register(DurableKey, upsert_renewing_expiry(DurableKey, ["key"]))


def reload() -> int:
    return reload_table(DurableKey, lambda row: row.key)


def prune() -> int:
    return prune_table(DurableKey)

"""The embedded key-value store's security state (sign-outs, used sign-in links, Slack
requests seen) is written to the database and read back when the process starts again."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.core import durable_store, row_writer
from app.core.db import session_scope
from app.core.durable_store import durable_store as store
from app.core.kv import get_store
from app.models import DurableKey


def stored(key: str) -> DurableKey | None:
    with session_scope() as session:
        return session.exec(select(DurableKey).where(DurableKey.key == key)).first()


def restart_memory() -> None:
    """What a restart does to the embedded store: an empty map, then the start-up reload."""
    get_store.cache_clear()
    durable_store.reload()


def test_a_key_added_before_a_restart_is_still_there_after_it(client):
    # given a used sign-in link's key, written out
    key = f"test-used:{uuid.uuid4().hex}"
    assert store.add(key, 600)
    row_writer.rows.flush()
    # when the process starts again
    get_store.cache_clear()
    assert not store.exists(key)
    assert durable_store.reload() >= 1
    # then the key is still there, and a second use is still refused
    assert store.exists(key)
    assert not store.add(key, 600)


def test_a_key_put_again_renews_its_row_instead_of_failing(client):
    # given a key recorded once with a short life
    key = f"test-put:{uuid.uuid4().hex}"
    store.put(key, 5)
    row_writer.rows.flush()
    first = stored(key)
    # when it is put again for longer (the same row: an upsert, not a duplicate key error)
    store.put(key, 3600)
    row_writer.rows.flush()
    # then one row holds the later expiry, and a restart keeps it
    renewed = stored(key)
    assert first is not None and renewed is not None
    assert renewed.expires_at > first.expires_at
    restart_memory()
    assert store.exists(key)


def test_expired_keys_are_not_reloaded_and_are_pruned_by_the_sweep(client):
    from workers.tasks import sweep

    key = f"test-gone:{uuid.uuid4().hex}"

    def add_expired() -> None:
        with session_scope() as session:
            session.add(DurableKey(key=key, expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    # given a key whose time is over
    add_expired()
    # when the process starts again, then it is neither reloaded nor kept
    restart_memory()
    assert not store.exists(key) and stored(key) is None
    # and the periodic sweep deletes such rows too
    add_expired()
    assert sweep()["keys_pruned"] >= 1 and stored(key) is None


def test_rows_of_one_table_with_different_columns_in_one_batch_are_each_stored_whole(client):
    # A Core executemany takes its columns from the first row: a later row's other columns
    # would be dropped without a word. Rows are grouped by their columns.
    from app.models import IssuedToken

    now = datetime.now(UTC)
    common = {"org_id": "o", "agent_id": "a", "issued_at": now, "expires_at": now}
    plain = {**common, "jti": f"t-{uuid.uuid4().hex}"}
    delegated = {**common, "jti": f"t-{uuid.uuid4().hex}", "subject": "alice", "parent_jti": "p"}
    row_writer._write([(IssuedToken, plain), (IssuedToken, delegated)])
    with session_scope() as session:
        row = session.get(IssuedToken, delegated["jti"])
        assert row is not None and (row.subject, row.parent_jti) == ("alice", "p")
        assert session.get(IssuedToken, plain["jti"]) is not None

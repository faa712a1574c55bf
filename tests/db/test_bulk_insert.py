"""Batches inserted as multi-row statements on SQLite store exactly what SQLAlchemy's insert would."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)
from sqlalchemy.exc import StatementError

from app.audit import service as audit
from app.core import bulk_insert, row_writer
from app.core.bulk_insert import insert_rows
from app.core.columns import aware
from app.core.db import get_engine, session_scope
from app.models import IssuedToken

WHEN = datetime(2026, 12, 8, 1, 2, 3, 456789)


def _tables(metadata: MetaData, *, callable_default: bool = False) -> tuple[Table, Table]:
    def table(name: str) -> Table:
        return Table(
            name,
            metadata,
            Column("id", Integer, primary_key=True),
            Column("key", String(40), nullable=False),
            Column("at", DateTime, nullable=True),
            Column("aware", DateTime(timezone=True), nullable=False),
            Column("details", JSON, nullable=False),
            Column("flag", Boolean, nullable=False),
            Column("kind", String(20), nullable=False, default="access"),
            Column("note", String(20), nullable=True),
            Column(
                "made",
                String(20),
                default=(lambda: "made-by-callable") if callable_default else None,
            ),
        )

    return table("fast"), table("usual")


@pytest.fixture
def sqlite(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    yield engine
    engine.dispose()


def _rows(n: int) -> list[dict]:
    return [
        {
            "key": f"k{i}\u00e9",
            "at": WHEN + timedelta(seconds=i) if i % 3 else None,
            # aware, whole seconds: sqlite3's own adapter would store "...:00+00:00"
            "aware": datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(seconds=i),
            "details": {"scope": "document.read", "n": i, "text": "caf\u00e9 \u2603"},
            "flag": bool(i % 2),
        }
        for i in range(n)
    ]


def _stored(connection, table: Table) -> list[tuple]:
    # The raw stored values, as SQLite holds them (dates and JSON as their text).
    return connection.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY id").fetchall()  # noqa: S608


def test_the_stored_values_are_the_ones_sqlalchemys_insert_stores(sqlite):
    # given the same rows, one table written by insert_rows, the other by SQLAlchemy's insert
    metadata = MetaData()
    fast, usual = _tables(metadata)
    metadata.create_all(sqlite)
    rows = _rows(7)
    with sqlite.begin() as connection:
        insert_rows(connection, fast, rows)
        connection.execute(insert(usual), rows)
    # then every stored value is the same, the left-out column's default included
    with sqlite.connect() as connection:
        written, expected = _stored(connection, fast), _stored(connection, usual)
        assert written == expected
        assert {row.kind for row in written} == {"access"} and {row.note for row in written} == {
            None
        }
        # and reads back as what was written
        back = connection.execute(select(fast).order_by(fast.c.id)).fetchall()
    assert [(r.key, r.at, r.details, r.flag) for r in back] == [
        (row["key"], row["at"], row["details"], row["flag"]) for row in rows
    ]
    assert written[0].aware == "2026-01-01 12:00:00.000000"  # SQLAlchemy's text, not sqlite3's


def test_a_batch_larger_than_one_statement_holds_is_written_whole_in_several(sqlite, monkeypatch):
    metadata = MetaData()
    fast, _ = _tables(metadata)
    metadata.create_all(sqlite)
    statements: list[int] = []
    with sqlite.begin() as connection:
        real = connection.exec_driver_sql

        def counted(sql, parameters=None, *args, **kwargs):
            statements.append(len(parameters))
            assert len(parameters) <= bulk_insert.MAX_PARAMETERS
            return real(sql, parameters, *args, **kwargs)

        monkeypatch.setattr(connection, "exec_driver_sql", counted)
        insert_rows(connection, fast, _rows(400))
    # 6 columns (the left-out default included): 166 rows fit a statement; what is left goes in
    # powers of two, so that a table has a few statement texts whatever the batch sizes
    assert statements == [166 * 6, 166 * 6, 64 * 6, 4 * 6]
    with sqlite.connect() as connection:
        assert len(_stored(connection, fast)) == 400


def test_a_left_out_column_with_a_callable_default_takes_sqlalchemys_insert(sqlite):
    metadata = MetaData()
    fast, _ = _tables(metadata, callable_default=True)
    metadata.create_all(sqlite)
    with sqlite.begin() as connection:
        insert_rows(connection, fast, _rows(2))
    with sqlite.connect() as connection:
        assert {row.made for row in _stored(connection, fast)} == {"made-by-callable"}


def test_rows_with_other_keys_than_the_first_are_refused_whole(sqlite):
    # SQLAlchemy's insert refuses a row missing a key of the first: nothing is half-written
    metadata = MetaData()
    fast, _ = _tables(metadata)
    metadata.create_all(sqlite)
    rows = _rows(3)
    del rows[2]["flag"]
    with pytest.raises(StatementError), sqlite.begin() as connection:
        insert_rows(connection, fast, rows)
    with sqlite.connect() as connection:
        assert _stored(connection, fast) == []


def test_token_records_from_the_row_writer_read_back_whole(client):
    # On the suite's database (SQLite, or PostgreSQL where the suite runs on it): the row
    # writer's batch of token records, with and without the assertion's claim columns.
    now = datetime.now(UTC).replace(microsecond=0)  # whole seconds: SQLite's text shows it
    jtis = [f"bulk-{uuid.uuid4().hex}" for _ in range(5)]
    for i, jti in enumerate(jtis):
        record = {
            "jti": jti, "org_id": "org_bulk", "agent_id": "agt_bulk", "kind": "access",
            "scope": "document.read", "audience": "https://rs.example", "issued_at": now,
            "expires_at": now + timedelta(minutes=15), "revoked_at": None, "subject": None,
            "parent_jti": None,
        }  # fmt: skip
        if i % 2:
            record |= {"assertion_jti": f"agt_bulk:{jti}", "claim_expires_at": now}
        row_writer.append(IssuedToken, record)
    row_writer.rows.flush()
    with get_engine().connect() as connection:
        table = IssuedToken.__table__
        stored = connection.execute(select(table).where(table.c.jti.in_(jtis))).fetchall()
        if connection.dialect.name == "sqlite":  # stored as SQLAlchemy stores it: naive UTC text
            texts = connection.exec_driver_sql(
                "SELECT DISTINCT issued_at FROM issued_token WHERE org_id = 'org_bulk'"
            ).fetchall()
            assert texts == [(now.replace(tzinfo=None).isoformat(" ", "microseconds"),)]
    by_jti = {row.jti: row for row in stored}
    assert set(by_jti) == set(jtis)
    for i, jti in enumerate(jtis):
        row = by_jti[jti]
        assert aware(row.issued_at) == now and aware(row.expires_at) == now + timedelta(minutes=15)
        assert row.scope == "document.read" and row.revoked_at is None
        assert row.assertion_jti == (f"agt_bulk:{jti}" if i % 2 else None)


def test_an_event_at_a_whole_second_is_found_by_since_that_second(client, org):
    # the audit trail's `since` compares stored text: every event's ts must be stored alike
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    audit.record_later(
        audit.EventIn(org_id=org.org_id, actor="a", action="bulk.probe", outcome="ok", ts=at)
    )
    audit.writer.flush()
    with session_scope() as session:
        found = audit.list_events(session, org_id=org.org_id, since=at)
    assert [event.action for event in found if event.action == "bulk.probe"] == ["bulk.probe"]

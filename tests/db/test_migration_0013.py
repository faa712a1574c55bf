"""Migration 0013 (policy.channel_settings) on a database of its own: the legacy columns are
copied in on the way up, and the settings written since are copied back on the way down, so a
downgraded server still posts to the policy's Slack channel and webhook."""

import json
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine, make_url

from app.core.db import make_engine
from app.core.migrate import alembic_config


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    url = os.environ.get("JITGATE_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        eng = make_engine(f"sqlite:///{tmp_path}/m.db")
        yield eng
        eng.dispose()
        return
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    eng = make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        admin.dispose()


def _migrate(engine: Engine, verb: str, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, verb)(cfg, revision)


def _insert(engine: Engine, table: str, **values) -> None:
    """A row with the given values and a plain value for every other NOT NULL column."""
    for col in sa.inspect(engine).get_columns(table):
        if col["nullable"] or col["name"] in values or col.get("default") is not None:
            continue
        kind = str(col["type"]).upper()
        if "INT" in kind or "BOOL" in kind or "FLOAT" in kind or "NUMERIC" in kind:
            values[col["name"]] = 0 if "BOOL" not in kind else False
        elif "TIME" in kind or "DATE" in kind:
            values[col["name"]] = "2026-01-01 00:00:00"
        elif "JSON" in kind:
            values[col["name"]] = "[]"
        else:
            values[col["name"]] = "x"
    names = ", ".join(values)
    marks = ", ".join(f":{n}" for n in values)
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


def _insert_minimal(engine: Engine, pid: str, **columns) -> None:
    values = {"id": pid, "org_id": "o1", "permission": f"p.{pid}", "mode": "jit", **columns}
    _insert(engine, "policy", **values)


def _row(conn, pid: str) -> dict:
    sql = "SELECT channel_settings FROM policy WHERE id = :id"
    settings = conn.execute(sa.text(sql), {"id": pid}).scalar_one()
    return {"channel_settings": json.loads(settings) if isinstance(settings, str) else settings}


def test_upgrade_copies_the_legacy_columns_and_downgrade_copies_them_back(engine):
    _migrate(engine, "upgrade", "0012")
    _insert(engine, "org", id="o1", name="o")
    _insert_minimal(engine, "old", slack_channel="#ops", webhook_url="https://hooks.example/x")
    _migrate(engine, "upgrade", "0013")
    with engine.connect() as conn:
        assert _row(conn, "old")["channel_settings"] == {
            "slack": {"slack_channel": "#ops"},
            "webhook": {"webhook_url": "https://hooks.example/x"},
        }
    # given a policy written after the upgrade (the service writes channel_settings only)
    settings = {
        "slack": {"slack_channel": "#new"},
        "webhook": {"webhook_url": "https://h.example/n"},
    }
    _insert_minimal(engine, "new", channel_settings=json.dumps(settings))
    with engine.begin() as conn:  # and an old policy whose settings were changed since
        conn.execute(
            sa.text("UPDATE policy SET channel_settings = :s WHERE id = 'old'"),
            {"s": json.dumps({"slack": {"slack_channel": "#moved"}})},
        )
    # when the migration is undone
    _migrate(engine, "downgrade", "0012")
    with engine.connect() as conn:
        rows = {
            pid: conn.execute(
                sa.text("SELECT slack_channel, webhook_url FROM policy WHERE id = :id"), {"id": pid}
            ).one()
            for pid in ("old", "new")
        }
    # then the legacy columns hold the settings the policies had
    assert tuple(rows["new"]) == ("#new", "https://h.example/n")
    assert tuple(rows["old"]) == ("#moved", None)

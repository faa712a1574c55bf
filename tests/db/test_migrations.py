"""The Alembic migrations build exactly the schema the models describe, on the test database."""

import os

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.core.db import get_engine
from app.core.migrate import current_revision, ensure_schema, head_revision


def test_the_database_is_at_the_newest_migration(client):
    engine = get_engine()
    assert current_revision(engine) == head_revision(engine) is not None


def test_migrations_and_models_describe_the_same_schema(client):
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_applying_migrations_twice_changes_nothing(client):
    engine = get_engine()
    before = current_revision(engine)
    ensure_schema(engine)
    assert current_revision(engine) == before


def test_a_fresh_sqlite_file_is_migrated_from_scratch(tmp_path):
    from app.core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/fresh.db")
    assert current_revision(engine) is None
    ensure_schema(engine)
    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()
    assert os.path.exists(tmp_path / "fresh.db")

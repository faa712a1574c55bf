"""Shared fixtures: a fresh database (SQLite, or PostgreSQL via JITGATE_TEST_DATABASE_URL), the app,
an org with its admin token, and agents with real key pairs."""

import os
import tempfile

# Settings are read once per process: fix them before any app module is imported. Each
# pytest-xdist worker (gw0, gw1, …) is a process of its own, so it gets its own directory,
# SQLite file and PostgreSQL database below; the name says whose a leftover is.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_TMP = tempfile.mkdtemp(prefix=f"jitgate-tests-{_WORKER}-")


def _private_postgres_database(url: str) -> str:
    """A database of this run's own on the given server, dropped at exit, so concurrent runs
    (CI, a developer, helpers) never share or reset each other's tables."""
    import atexit
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"jitgate_test_{_WORKER}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        from app.core.db import get_engine

        get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    atexit.register(drop)
    return base.set(database=name).render_as_string(hide_password=False)


_PG = os.environ.get("JITGATE_TEST_DATABASE_URL")
os.environ["JITGATE_DATABASE_URL"] = (
    _private_postgres_database(_PG) if _PG else f"sqlite:///{_TMP}/test.db"
)
os.environ["JITGATE_PUBLIC_URL"] = "http://testserver"
os.environ["JITGATE_SECRET_KEY"] = "test-secret-key-0123456789abcdef"
os.environ["JITGATE_ENV"] = "test"
# Every test starts an app: frozen start-up heaps would pile up in the test process, uncollected.
os.environ["JITGATE_GC_FREEZE"] = "false"
os.environ.pop("JITGATE_REDIS_URL", None)
# Every in-process request comes from the one address "testclient": the suite would pass the
# per-address limit within a minute. tests/test_rate_limits.py lowers it where it tests it.
os.environ["JITGATE_ADDRESS_REQUESTS_PER_MINUTE"] = "1000000"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from tests import factories  # noqa: E402


@pytest.fixture(scope="session")
def app():
    from app.main import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def org(client) -> factories.OrgHandle:
    return factories.make_org()


@pytest.fixture
def other_org(client) -> factories.OrgHandle:
    return factories.make_org("Other Corp")


@pytest.fixture
def agent(client, org) -> factories.AgentHandle:
    return factories.register_agent(
        client,
        org,
        capabilities=["document.read", "document.summarize", "email.send", "payments.authorize"],
    )

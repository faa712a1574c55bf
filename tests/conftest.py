"""Shared fixtures: a fresh database (SQLite, or PostgreSQL via JITGATE_TEST_DATABASE_URL), the app,
an org with its admin token, and agents with real key pairs."""

import os
import tempfile

# Settings are read once per process: fix them before any app module is imported.
_TMP = tempfile.mkdtemp(prefix="jitgate-tests-")
os.environ.setdefault(
    "JITGATE_DATABASE_URL",
    os.environ.get("JITGATE_TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.db",
)
os.environ["JITGATE_PUBLIC_URL"] = "http://testserver"
os.environ["JITGATE_SECRET_KEY"] = "test-secret-key-0123456789abcdef"
os.environ["JITGATE_ENV"] = "test"
os.environ.pop("JITGATE_REDIS_URL", None)

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from tests import factories  # noqa: E402


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app():
    url = os.environ["JITGATE_DATABASE_URL"]
    if url.startswith("postgresql"):
        _reset_postgres(url)
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

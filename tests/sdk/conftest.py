"""A real jitgate server on a free port for the SDK integration tests (one per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_server import LiveServer, start_server

from jitgate import SyncAgentAuth
from jitgate.demo import Admin, DemoAgent, setup_agent


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(workdir=tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_admin(live_server: LiveServer) -> Admin:
    return Admin(live_server.base_url, live_server.org_id, live_server.admin_token)


@pytest.fixture
def live_agent(live_admin: Admin) -> DemoAgent:
    return setup_agent(live_admin)


@pytest.fixture
def live_auth(live_server: LiveServer, live_agent: DemoAgent) -> SyncAgentAuth:
    return SyncAgentAuth(
        live_server.base_url, live_server.org_id, live_agent.agent_id, live_agent.private_key_pem
    )

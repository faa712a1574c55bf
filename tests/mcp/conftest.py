"""Real parts for the MCP tests: a live jitgate (uvicorn subprocess), a real MCP server built
with the `mcp` package and served by uvicorn on loopback, and a real MCP client session."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("mcp")

import httpx2  # noqa: E402  (the mcp client's HTTP library)
import uvicorn  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

from jitgate import SyncAgentAuth  # noqa: E402
from jitgate.demo import Admin, DemoAgent, setup_agent  # noqa: E402
from jitgate.mcp import McpGate  # noqa: E402
from tests.sdk.live_server import LiveServer, free_port, start_server  # noqa: E402

TOOLS = {"get_balance": "document.read", "pay_invoice": "payments.authorize"}


@pytest.fixture(scope="module")
def jitgate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(workdir=tmp_path_factory.mktemp("mcp-live"))
    yield server
    server.stop()


@dataclass
class ToolServer:
    """The protected MCP server under test, and what its tools actually did."""

    url: str
    resource_uri: str
    gate: McpGate
    ran: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def build_server(gate: McpGate, ran: list) -> MCPServer:
    server = MCPServer(
        "payments-tools", auth=gate.auth_settings(), token_verifier=gate.verifier, middleware=[gate]
    )

    @server.tool()
    def get_balance(account: str) -> str:
        ran.append(("get_balance", {"account": account}))
        return f"{account}: 100 EUR"

    @server.tool()
    def pay_invoice(invoice: str, amount: int) -> str:
        ran.append(("pay_invoice", {"invoice": invoice, "amount": amount}))
        return f"paid {invoice}"

    @server.tool()
    def drop_tables() -> str:  # in no tool map: must never run
        ran.append(("drop_tables", {}))
        return "dropped"

    gate.install_metadata(server)
    return server


def serve(app: Any, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the MCP server did not start"
    return server


@pytest.fixture(scope="module")
def admin(jitgate_server: LiveServer) -> Admin:
    return Admin(jitgate_server.base_url, jitgate_server.org_id, jitgate_server.admin_token)


@pytest.fixture(scope="module")
def tool_server(jitgate_server: LiveServer, admin: Admin) -> Iterator[ToolServer]:
    port = free_port()
    resource_uri = f"http://127.0.0.1:{port}/mcp"
    admin.call(
        "POST",
        "resources",
        json={"name": "Payments tools", "resource_uri": resource_uri, "tools": TOOLS},
    )
    gate = McpGate(
        jitgate_url=jitgate_server.base_url,
        org_id=jitgate_server.org_id,
        resource_uri=resource_uri,
        admin_token=jitgate_server.admin_token,
        jit_wait=30,
    )
    state = ToolServer(url=resource_uri, resource_uri=resource_uri, gate=gate)
    running = serve(build_server(gate, state.ran).streamable_http_app(), port)
    yield state
    running.should_exit = True


@pytest.fixture(scope="module")
def agent(admin: Admin) -> DemoAgent:
    return setup_agent(
        admin,
        capabilities=["document.read", "payments.authorize"],
        jit_permissions=("payments.authorize",),
    )


def token_for(jitgate_server: LiveServer, agent: DemoAgent, resource: str) -> str:
    auth = SyncAgentAuth(
        jitgate_server.base_url, jitgate_server.org_id, agent.agent_id, agent.private_key_pem
    )
    return auth.get_access_token(resource=resource)


@asynccontextmanager
async def mcp_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx2.Timeout(30, read=120)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def approve_when_pending(
    admin: Admin, agent: DemoAgent, found: list[str], verb: str = "approve"
) -> threading.Thread:
    """An approver, in another thread, deciding (approve or deny) the first new request of
    this agent."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            params = {"actor": agent.agent_id, "action": "jit.request", "limit": 200}
            events = admin.call("GET", "audit", params=params).get("items", [])
            pending = [e["target"] for e in events if e["target"] not in found]
            if pending:
                found.append(pending[0])
                getattr(admin, verb)(pending[0], agent.approver_token or "")
                return
            time.sleep(0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread

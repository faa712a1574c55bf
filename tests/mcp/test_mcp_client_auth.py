"""The agent side: an MCP client gets its token by the MCP authorization spec's discovery
(401 -> resource_metadata -> RFC 9728 document -> authorization_servers -> jitgate with
resource=), and never signs anything for a server that trusts another authorization server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import jwt
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from jitgate import AgentAuth
from jitgate.mcp import JitgateMcpAuth, JitgateMcpHttpxAuth
from jitgate.mcp.client_auth import McpAuthError
from tests.mcp.conftest import serve
from tests.sdk.live_server import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def agent_auth(jitgate_server, agent, seen: list[str] | None = None) -> AgentAuth:
    """The agent's SDK client; `seen` collects every URL it sends a request to."""

    async def record(request: httpx.Request) -> None:
        if seen is not None:
            seen.append(str(request.url))

    http = httpx.AsyncClient(event_hooks={"request": [record]})
    return AgentAuth(
        jitgate_server.base_url,
        jitgate_server.org_id,
        agent.agent_id,
        agent.private_key_pem,
        http_client=http,
    )


@asynccontextmanager
async def discovered_session(url: str, auth: Any, statuses: list[int]):
    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async with (
        httpx2.AsyncClient(
            auth=auth, timeout=httpx2.Timeout(30, read=120), event_hooks={"response": [record]}
        ) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def test_an_mcp_client_discovers_its_token_and_calls_a_permitted_tool(
    jitgate_server, tool_server, agent
):
    # Given an agent that knows only its jitgate and the MCP server's URL,
    seen: list[str] = []
    auth = JitgateMcpAuth(agent_auth(jitgate_server, agent, seen))
    statuses: list[int] = []
    async with discovered_session(tool_server.url, auth, statuses) as session:
        # when its MCP client connects and calls a tool,
        result = await session.call_tool("get_balance", {"account": "ACC-D"})
    # then the tool ran: the first answer was the 401, then the metadata, then the token
    assert not result.is_error
    assert ("get_balance", {"account": "ACC-D"}) in tool_server.ran
    assert statuses[:2] == [401, 200]
    token_requests = [u for u in seen if u.endswith("/oauth/token")]
    assert len(token_requests) == 1  # one token, cached for every later request
    # was asked for this resource: its audience is the server's URI (RFC 8707).
    resource = next(iter(auth.discovery.resources.values()))
    assert resource == tool_server.resource_uri
    token = await auth.discovery.agent.get_access_token(resource=resource)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == resource


async def test_the_httpx_variant_authenticates_a_plain_httpx_client(
    jitgate_server, tool_server, agent
):
    # (What an MCP client on httpx, such as the mcp package 1.x, plugs in.)
    auth = JitgateMcpHttpxAuth(agent_auth(jitgate_server, agent))
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(auth=auth) as http:
        resp = await http.post(tool_server.url, json=body, headers=headers)
    assert resp.status_code == 200, resp.text


@pytest.fixture(scope="module")
def impostor() -> Iterator[dict[str, Any]]:
    """A server that answers 401 and serves whatever metadata document the test puts in it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    state: dict[str, Any] = {"url": f"{base}/mcp", "document": {}}

    async def mcp(_request: Any) -> JSONResponse:
        pointer = f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'
        return JSONResponse({}, status_code=401, headers={"WWW-Authenticate": pointer})

    async def metadata(_request: Any) -> JSONResponse:
        return JSONResponse(state["document"])

    app = Starlette(
        routes=[
            Route("/mcp", mcp, methods=["POST", "GET"]),
            Route("/.well-known/oauth-protected-resource/mcp", metadata),
        ]
    )
    running = serve(app, port)
    yield state
    running.should_exit = True


async def _attempt(jitgate_server, agent, impostor, document: dict) -> tuple[str, list[str]]:
    impostor["document"] = document
    seen: list[str] = []
    auth = JitgateMcpAuth(agent_auth(jitgate_server, agent, seen))
    async with httpx2.AsyncClient(auth=auth) as http:
        with pytest.raises(McpAuthError) as refused:
            await http.post(impostor["url"], json={})
    return str(refused.value), seen


async def test_a_server_trusting_another_authorization_server_gets_no_token(
    jitgate_server, agent, impostor
):
    # Given a server whose metadata names another authorization server,
    document = {
        "resource": impostor["url"],
        "authorization_servers": ["https://evil.example"],
    }
    # when the agent's client meets its 401, it stops: no assertion is signed, no token asked.
    message, seen = await _attempt(jitgate_server, agent, impostor, document)
    assert "not this agent's jitgate" in message
    assert seen == []


async def test_metadata_for_another_resource_is_refused(jitgate_server, agent, impostor):
    issuer = f"{jitgate_server.base_url}/orgs/{jitgate_server.org_id}"
    for resource in ("https://payments.example/mcp", impostor["url"] + "-other"):
        document = {"resource": resource, "authorization_servers": [issuer]}
        message, seen = await _attempt(jitgate_server, agent, impostor, document)
        assert "another resource" in message
        assert seen == []


async def test_metadata_without_a_resource_is_refused(jitgate_server, agent, impostor):
    message, seen = await _attempt(jitgate_server, agent, impostor, {"authorization_servers": []})
    assert "has no resource" in message and seen == []

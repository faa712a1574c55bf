"""`jitgate mcp-proxy`: put an existing MCP server behind jitgate without changing it.

Clients speak MCP over streamable HTTP to the proxy with a jitgate token for the resource; the
proxy holds one session with the upstream server (a stdio subprocess, or streamable HTTP) and
forwards `tools/list` and `tools/call` to it through the same McpGate middleware a protected
server uses: the same tool rules, JIT approvals and audit records. Only tools are proxied: the
upstream's resources and prompts are not reachable through it (no rule would cover them).
"""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from jitgate.mcp.gate import McpGate
from jitgate.mcp.rules import progress_token

MCP_PATH = "/mcp"
UPSTREAM_TIMEOUT = httpx2.Timeout(30.0, read=300.0)  # a tool may take a while to answer


@dataclass(frozen=True)
class Upstream:
    """Where the real server is: a command to run (stdio) or a streamable HTTP URL."""

    command: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one upstream: a command (stdio) or a URL")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError("the upstream URL must be http(s)://")
        if self.command is not None and not shlex.split(self.command):
            raise ValueError("the upstream command is empty")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ClientSession]:
        """One initialized client session with the upstream, for the proxy's lifetime."""
        async with self._streams() as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session

    def _streams(self) -> AbstractAsyncContextManager[Any]:
        if self.command is not None:
            argv = shlex.split(self.command)
            env = dict(self.env) if self.env is not None else None
            return stdio_client(StdioServerParameters(command=argv[0], args=argv[1:], env=env))
        return self._http_streams()

    @asynccontextmanager
    async def _http_streams(self) -> AsyncIterator[Any]:
        headers = dict(self.headers)
        async with (
            httpx2.AsyncClient(headers=headers, timeout=UPSTREAM_TIMEOUT) as http,
            streamable_http_client(str(self.url), http_client=http) as streams,
        ):
            yield streams


async def _list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> Any:
    """Every upstream tool, all pages at once: the gate filters the list per caller."""
    upstream: ClientSession = ctx.lifespan_context["upstream"]
    tools: list[types.Tool] = []
    cursor = None
    for _ in range(1000):  # bounded: an upstream that pages forever is cut off
        page = await upstream.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return types.ListToolsResult(tools=tools)


async def _call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    """The call, forwarded once the gate let it through; upstream progress goes back to the
    client that asked for it."""
    upstream: ClientSession = ctx.lifespan_context["upstream"]
    token = progress_token(ctx)

    async def forward_progress(progress: float, total: float | None, message: str | None) -> None:
        await ctx.session.send_progress_notification(
            token, progress, total, message, related_request_id=ctx.request_id
        )

    return await upstream.call_tool(
        params.name,
        params.arguments or {},
        progress_callback=forward_progress if token is not None else None,
    )


def build_server(gate: McpGate, upstream: Upstream) -> Server[Any]:
    """The proxy's MCP server: the upstream's tools, behind the gate."""

    @asynccontextmanager
    async def lifespan(_server: Server[Any]) -> AsyncIterator[dict[str, Any]]:
        async with upstream.session() as session:
            yield {"upstream": session}

    server: Server[Any] = Server(
        "jitgate-mcp-proxy", lifespan=lifespan, on_list_tools=_list_tools, on_call_tool=_call_tool
    )
    server.middleware.append(gate)
    return server


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def transport_security(host: str, resource_uri: str) -> TransportSecuritySettings | None:
    """DNS rebinding protection on loopback, as the `mcp` package sets it up, plus the host of
    the resource URI: behind a reverse proxy, clients address the proxy by that name."""
    if host not in LOOPBACK:
        return None
    public = urlsplit(resource_uri)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc],
        allowed_origins=[
            "http://127.0.0.1:*",
            "http://localhost:*",
            "http://[::1]:*",
            f"{public.scheme}://{public.netloc}",
        ],
    )


def build_app(gate: McpGate, upstream: Upstream, *, host: str = "127.0.0.1") -> Starlette:
    """The ASGI app: MCP at /mcp (401 + resource_metadata without a token for this resource),
    the RFC 9728 document at /.well-known/oauth-protected-resource and …/mcp."""
    server = build_server(gate, upstream)
    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=host,
        transport_security=transport_security(host, gate.resource_uri),
        auth=gate.auth_settings(),
        token_verifier=gate.verifier,
        custom_starlette_routes=[gate.metadata_route()],
    )


def run(gate: McpGate, upstream: Upstream, *, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(gate, upstream, host=host), host=host, port=port)

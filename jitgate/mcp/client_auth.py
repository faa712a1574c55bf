"""An agent's MCP client gets a jitgate token for the server it talks to, by discovery.

As the MCP authorization specification says: the server's 401 names its RFC 9728 protected
resource metadata (`WWW-Authenticate: Bearer resource_metadata="…"`, or the well-known URL);
that document names the resource (the token's audience, RFC 8707) and its authorization
servers. The agent's own jitgate must be one of them: the agent's key never signs an assertion
for a server that trusts another authorization server, and a document for another resource
than the URL being called is refused. The token comes from jitgate's token endpoint with
`resource=` (AgentAuth, cached and refreshed), and the request is sent again with it.

`JitgateMcpAuth` is an `httpx2.Auth` (the `mcp` package >= 2 and the OpenAI Agents SDK);
`JitgateMcpHttpxAuth` the same for `httpx` (`mcp` 1.x, langchain-mcp-adapters). Neither needs
the `mcp` package itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from jitgate.client import AgentAuth
from jitgate.errors import JitgateError

METADATA_PATH = "/.well-known/oauth-protected-resource"
_RESOURCE_METADATA = re.compile(r'resource_metadata="([^"]+)"')


class McpAuthError(JitgateError):
    """The server's discovery documents do not lead to this agent's jitgate for this URL."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="mcp_discovery_failed")


def _endpoint(url: Any) -> str:
    """The URL being called without query or fragment: what a resource must cover."""
    parts = urlsplit(str(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _metadata_urls(url: Any, challenge: str | None) -> list[str]:
    """Where the protected resource metadata is: the 401's pointer first, then RFC 9728 §3.1's
    path-suffixed and root well-known URLs on the server's own origin."""
    parts = urlsplit(str(url))
    origin = f"{parts.scheme}://{parts.netloc}"
    urls = []
    found = _RESOURCE_METADATA.search(challenge or "")
    if found:
        urls.append(found.group(1))
    if parts.path.strip("/"):
        urls.append(f"{origin}{METADATA_PATH}{parts.path.rstrip('/')}")
    urls.append(f"{origin}{METADATA_PATH}")
    return urls


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


class _Discovery:
    """The flow both auth classes run; `request_cls` builds the metadata GET for their library."""

    def __init__(self, agent: Any, capabilities: list[str] | None) -> None:
        self.agent = agent if isinstance(agent, AgentAuth) else _async_twin(agent)
        self.capabilities = capabilities
        self.resources: dict[str, str] = {}  # endpoint -> resource URI (the token's audience)

    def check(self, document: Any, endpoint: str) -> str:
        """The resource a token is requested for; McpAuthError when the document is not one
        this agent may act on."""
        if not isinstance(document, dict) or not isinstance(document.get("resource"), str):
            raise McpAuthError(f"{endpoint}: the protected resource metadata has no resource")
        resource = document["resource"]
        # RFC 9728 §7.3: the resource must be the server being called, not another one.
        base = resource.rstrip("/")
        covered = endpoint.rstrip("/") == base or endpoint.startswith(base + "/")
        if not _same_origin(resource, endpoint) or not covered:
            raise McpAuthError(f"{endpoint}: its metadata names another resource, {resource}")
        servers = document.get("authorization_servers") or []
        issuer = self.agent.endpoints.issuer
        if issuer not in [str(s).rstrip("/") for s in servers]:
            raise McpAuthError(
                f"{endpoint} trusts {servers}, not this agent's jitgate ({issuer}): no token sent"
            )
        return resource

    async def token(self, resource: str) -> str:
        return await self.agent.get_access_token(self.capabilities, resource=resource)

    async def flow(self, request: Any, request_cls: Any) -> AsyncGenerator[Any, Any]:
        endpoint = _endpoint(request.url)
        resource = self.resources.get(endpoint)
        sent = None
        if resource is not None:
            sent = await self.token(resource)
            request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()
        if sent is not None:  # revoked or expired early: a fresh one, once
            self.agent.invalidate_tokens()
        resource = None
        challenge = response.headers.get("www-authenticate")
        for url in _metadata_urls(request.url, challenge):
            answer = yield request_cls("GET", url, headers={"Accept": "application/json"})
            await answer.aread()
            if answer.status_code == 200:
                resource = self.check(_json(answer), endpoint)
                break
        if resource is None:
            raise McpAuthError(f"{endpoint}: answered 401 and has no protected resource metadata")
        self.resources[endpoint] = resource
        request.headers["Authorization"] = f"Bearer {await self.token(resource)}"
        yield request


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _async_twin(auth: Any) -> AgentAuth:
    credentials = getattr(auth, "credentials", None)
    if credentials is None:
        raise TypeError("give an AgentAuth (or SyncAgentAuth) for the agent")
    return AgentAuth.from_credentials(credentials)


class JitgateMcpHttpxAuth(httpx.Auth):
    """httpx.Auth for MCP clients on `httpx` (the `mcp` package 1.x, langchain-mcp-adapters)."""

    def __init__(self, agent: Any, *, capabilities: list[str] | None = None) -> None:
        self.discovery = _Discovery(agent, capabilities)

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        raise RuntimeError("JitgateMcpHttpxAuth is for async clients (MCP clients are async)")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[Any, Any]:
        flow = self.discovery.flow(request, httpx.Request)
        response = None
        try:
            while True:
                response = yield await flow.asend(response)
        except StopAsyncIteration:
            return


try:
    import httpx2
except ImportError:  # pragma: no cover - httpx2 comes with mcp >= 2
    httpx2 = None  # type: ignore[assignment]

if httpx2 is not None:

    class JitgateMcpAuth(httpx2.Auth):
        """httpx2.Auth for MCP clients on `httpx2` (the `mcp` package >= 2, OpenAI Agents)."""

        def __init__(self, agent: Any, *, capabilities: list[str] | None = None) -> None:
            self.discovery = _Discovery(agent, capabilities)

        def sync_auth_flow(self, request: Any) -> Any:
            raise RuntimeError("JitgateMcpAuth is for async clients (MCP clients are async)")

        async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
            flow = self.discovery.flow(request, httpx2.Request)
            response = None
            try:
                while True:
                    response = yield await flow.asend(response)
            except StopAsyncIteration:
                return
else:  # pragma: no cover

    def JitgateMcpAuth(*_args: Any, **_kwargs: Any) -> Any:  # type: ignore[no-redef]  # noqa: N802
        raise ImportError(
            "JitgateMcpAuth needs httpx2 (it comes with mcp >= 2); on httpx use JitgateMcpHttpxAuth"
        )


def auth_for_installed_mcp(agent: Any, *, capabilities: list[str] | None = None) -> Any:
    """The auth for the HTTP library the installed `mcp` package uses: httpx2 from mcp 2 on,
    httpx before (frameworks that pin mcp 1.x, such as langchain-mcp-adapters)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("mcp").split(".")[0])
    except (PackageNotFoundError, ValueError):
        major = 0
    if major >= 2 and httpx2 is not None:
        return JitgateMcpAuth(agent, capabilities=capabilities)
    return JitgateMcpHttpxAuth(agent, capabilities=capabilities)

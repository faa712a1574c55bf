"""McpGate: the token verifier and middleware that put jitgate's tool rules on one MCP server."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from typing import Any

import anyio
import httpx
import mcp_types as types
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jitgate._protocol import checked_json
from jitgate.errors import JitgateError
from jitgate.mcp.audit import (
    ERROR,
    REFUSED,
    SUCCESS,
    CallRecord,
    ToolCallReporter,
    checked_arguments,
)
from jitgate.mcp.rules import (
    ALLOW,
    JIT,
    JitCall,
    ToolMap,
    caller,
    is_error_result,
    tool_error,
    verdict,
    visible_tools,
)
from jitgate.resource import TokenVerifier as JwksVerifier

METADATA_PATH = "/.well-known/oauth-protected-resource"
ACTIVE_CACHE_SIZE = 10_000  # tokens whose liveness is remembered (oldest forgotten first)
MAX_JIT_WAITS_PER_CALLER = 10  # one caller's concurrent approval waits


class Verifier:
    """The `mcp` TokenVerifier: offline JWKS check with audience = this server's URI."""

    def __init__(self, gate: McpGate) -> None:
        self._gate = gate
        self._jwks = JwksVerifier(gate.issuer, audience=gate.resource_uri)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            verified = await anyio.to_thread.run_sync(self._jwks.verify, token)
        except JitgateError:
            return None  # mcp answers 401 with WWW-Authenticate: resource_metadata
        if verified.jit is not None:
            return None  # a JIT token is redeemed by the gate, never a bearer credential
        if self._gate.check_active and not await self._gate.is_active(token):
            return None
        claims = verified.claims
        return AccessToken(
            token=token,
            client_id=verified.agent_id,  # the acting agent (the user is `subject` if delegated)
            scopes=list(verified.scopes),
            expires_at=int(claims["exp"]),
            resource=str(claims["aud"]),
            subject=str(claims["sub"]),
            claims=claims,
        )


class McpGate:
    """Server middleware and token verifier for one protected MCP server.

    Every tools/call is recorded in jitgate's audit trail with its outcome when the gate has
    the org's admin token (which it also uses to read the tool map). With that token, the gate
    also asks jitgate whether each caller's token is still live (RFC 7662 introspection, the
    answer cached `active_cache_seconds` per token), so a revoked token or suspended agent
    stops within those seconds; `check_active=False` leaves it to the token's expiry.
    """

    def __init__(
        self,
        *,
        jitgate_url: str,
        org_id: str,
        resource_uri: str,
        admin_token: str | None = None,
        tools: dict[str, str] | None = None,
        jit_permissions: set[str] | frozenset[str] = frozenset(),
        jit_wait: float = 60.0,
        check_active: bool | None = None,
        active_cache_seconds: float = 5.0,
        refresh_seconds: float = 30.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if tools is None and admin_token is None:
            raise ValueError("give the tool map (tools=) or an admin token to read it from jitgate")
        self.issuer = f"{jitgate_url.rstrip('/')}/orgs/{org_id}"
        self.api = f"{self.issuer}/api/v1"
        self.resource_uri = resource_uri
        self.admin_token = admin_token
        self.jit_wait = jit_wait
        self.check_active = admin_token is not None if check_active is None else check_active
        self.active_cache_seconds = active_cache_seconds
        self._active: dict[str, tuple[bool, float]] = {}  # sha256(token) -> (active, until)
        self._jit_waits: Counter[str] = Counter()  # caller (agent, subject) -> waits running
        self.refresh_seconds = refresh_seconds
        self._fixed = ToolMap(tools, jit_permissions=frozenset(jit_permissions)) if tools else None
        self._map: ToolMap | None = self._fixed
        self._map_at = 0.0
        self._http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=75.0))
        # The admin's reads and reports get their own pool: callers' long JIT polls on
        # self._http cannot hold up the tool map, introspection or the audit trail.
        self._admin_http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self.verifier = Verifier(self)
        self.reporter = ToolCallReporter(
            api=self.api, resource_uri=resource_uri, admin_token=admin_token, http=self._admin_http
        )

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    # configuration for the mcp server ---------------------------------------------------
    def auth_settings(self) -> AuthSettings:
        # The verifier checks the audience itself (and more strictly than a URL compare).
        return AuthSettings(
            issuer_url=self.issuer, resource_server_url=self.resource_uri,
            validate_token_resource=False,
        )  # fmt: skip

    def metadata(self, tool_map: ToolMap | None = None) -> dict[str, Any]:
        """RFC 9728: this server's protected resource metadata."""
        scopes = set((tool_map or self._map or ToolMap({})).tools.values())
        return {
            "resource": self.resource_uri,
            "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"],
            "scopes_supported": sorted(scopes),
        }

    async def _metadata_endpoint(self, _request: Request) -> JSONResponse:
        return JSONResponse(self.metadata(await self.tool_map()))

    def metadata_route(self) -> Route:
        """The document at the server's root `/.well-known/oauth-protected-resource` (the `mcp`
        package serves it at the path-suffixed URL the 401 names)."""
        return Route(METADATA_PATH, self._metadata_endpoint, methods=["GET"])

    def install_metadata(self, server: Any) -> None:
        """Add the root metadata route to an `MCPServer`."""
        server.custom_route(METADATA_PATH, methods=["GET"])(self._metadata_endpoint)

    # jitgate calls ----------------------------------------------------------------------
    async def tool_map(self) -> ToolMap:
        if self._fixed is not None:
            return self._fixed
        if self._map is None or time.monotonic() - self._map_at > self.refresh_seconds:
            response = await self._admin_http.get(f"{self.api}/resources", headers=self._admin())
            body = checked_json(response)
            found = [r for r in body["items"] if r["resource_uri"] == self.resource_uri]
            # Not registered (or removed): nothing is mapped, so no tool runs.
            self._map = ToolMap.from_resource(found[0]) if found else ToolMap({})
            self._map_at = time.monotonic()
        return self._map

    async def is_active(self, token: str) -> bool:
        """RFC 7662 introspection with the admin token: revoked tokens, suspended agents.
        Cached per token for active_cache_seconds; jitgate unreachable -> not active."""
        if self.admin_token is None:
            raise ValueError("check_active needs admin_token (introspection)")
        key = hashlib.sha256(token.encode()).hexdigest()  # the token itself is not kept
        now = time.monotonic()
        cached = self._active.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            response = await self._admin_http.post(
                f"{self.api}/oauth/introspect", data={"token": token}, headers=self._admin()
            )
            active = bool(checked_json(response).get("active"))
        except (httpx.HTTPError, JitgateError):
            return False  # fail closed, and ask again next time
        if len(self._active) >= ACTIVE_CACHE_SIZE:
            self._active.pop(next(iter(self._active)))
        self._active[key] = (active, now + self.active_cache_seconds)
        return active

    def _admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    # the middleware ---------------------------------------------------------------------
    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if ctx.method == "tools/list":
            return await self._list(ctx, call_next)
        if ctx.method == "tools/call":
            return await self._call(ctx, call_next)
        return await call_next(ctx)

    async def _list(self, ctx: Any, call_next: Any) -> Any:
        result = await call_next(ctx)
        listing = (
            types.ListToolsResult.model_validate(result) if isinstance(result, dict) else result
        )
        shown = visible_tools(await self.tool_map(), listing.tools, caller(ctx))
        return listing.model_copy(update={"tools": shown})

    async def _call(self, ctx: Any, call_next: Any) -> Any:
        token = caller(ctx)
        params = dict(ctx.params or {})
        name, arguments = str(params.get("name", "")), params.get("arguments") or {}
        if not isinstance(arguments, dict):  # raw params: the handler has not validated them
            return tool_error("arguments must be a JSON object")
        record = CallRecord(tool=name, arguments=arguments, outcome=REFUSED)
        try:
            # Before anything else: a call whose arguments cannot be recorded does not run.
            record.checked = await anyio.to_thread.run_sync(checked_arguments, name, arguments)
            if record.checked.refusal is not None:
                record.reason = f"tool call refused: {record.checked.refusal}"
                return tool_error(record.reason)
            return await self._decide_and_run(ctx, call_next, token, record)
        finally:
            if token is not None:
                # Shielded: a call the client cancelled is still recorded (as an error).
                with anyio.CancelScope(shield=True):
                    await self.reporter.report(record, token.token)

    async def _decide_and_run(
        self, ctx: Any, call_next: Any, token: AccessToken | None, record: CallRecord
    ) -> Any:
        tool_map = await self.tool_map()
        seen = verdict(tool_map, record.tool, token)
        if seen not in (ALLOW, JIT) or token is None:
            record.reason = f"tool {record.tool!r} is not permitted for this caller"
            return tool_error(record.reason)
        if seen == JIT:
            permission = str(tool_map.permission(record.tool))
            approval = JitCall(self, ctx, token, permission, record.tool, record.arguments)
            waiter = f"{token.client_id}\n{token.subject}"
            if self._jit_waits[waiter] >= MAX_JIT_WAITS_PER_CALLER:
                record.reason = (
                    f"too many approval waits: at most {MAX_JIT_WAITS_PER_CALLER} JIT calls "
                    "per caller at once; retry when one has returned"
                )
                return tool_error(record.reason)
            self._jit_waits[waiter] += 1
            try:
                refusal = await approval.obtain()
            finally:
                self._jit_waits[waiter] -= 1
                if self._jit_waits[waiter] <= 0:
                    del self._jit_waits[waiter]
            record.jit_request_id = approval.request_id
            if refusal is not None:
                record.reason = refusal
                return tool_error(refusal)
        record.outcome = ERROR  # until the tool returns a result that is not an error
        result = await call_next(ctx)
        record.outcome = ERROR if is_error_result(result) else SUCCESS
        return result

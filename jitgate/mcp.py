"""Protect an MCP server (the `mcp` package, >= 2.3) with jitgate tokens, per-tool rules and JIT.

    gate = McpGate(jitgate_url=..., org_id=..., resource_uri="https://tools.example/mcp",
                   admin_token=...)                # or tools={...}, jit_permissions={...}
    server = MCPServer("tools", auth=gate.auth_settings(), token_verifier=gate.verifier,
                       middleware=[gate])
    gate.install_metadata(server)                   # /.well-known/oauth-protected-resource

Tool rules: an unmapped tool never runs and is not listed; a standing tool runs when the token
holds its permission; a JIT tool is listed as needing approval and a call opens a JIT request
with the caller's own token, waits (with progress notifications), redeems the single-use token
for exactly that call and runs once. `mcp` is imported only by this module (`jitgate[mcp]`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import rfc8785

from jitgate.errors import JitgateError
from jitgate.resource import TokenVerifier as JwksVerifier

try:
    import mcp_types as types
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError("jitgate.mcp needs the mcp package: pip install 'jitgate[mcp]'") from exc

APPROVAL_META = "io.jitgate/approval"
FINAL = ("denied", "expired", "cancelled", "consumed", "revoked", "token_expired")
POLL_SECONDS = 15  # one long-poll; a progress notification goes out between polls


@dataclass
class ToolMap:
    """tool -> permission, and which permissions need a JIT approval per call."""

    tools: dict[str, str]
    default_permission: str | None = None
    jit_permissions: frozenset[str] = field(default_factory=frozenset)
    denied_permissions: frozenset[str] = field(default_factory=frozenset)

    def permission(self, tool: str) -> str | None:
        return self.tools.get(tool, self.default_permission)

    @classmethod
    def from_resource(cls, body: dict[str, Any]) -> ToolMap:
        modes: dict[str, str] = body.get("modes") or {}
        return cls(
            tools=dict(body.get("tools") or {}),
            default_permission=body.get("default_permission"),
            jit_permissions=frozenset(p for p, m in modes.items() if m == "jit"),
            denied_permissions=frozenset(p for p, m in modes.items() if m == "deny"),
        )


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
            client_id=str(claims.get("client_id") or claims["sub"]),
            scopes=list(verified.scopes),
            expires_at=int(claims["exp"]),
            resource=str(claims["aud"]),
            subject=str(claims["sub"]),
            claims=claims,
        )


class McpGate:
    """Server middleware and token verifier for one protected MCP server."""

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
        check_active: bool = False,
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
        self.check_active = check_active
        self.refresh_seconds = refresh_seconds
        self._fixed = ToolMap(tools, jit_permissions=frozenset(jit_permissions)) if tools else None
        self._map: ToolMap | None = self._fixed
        self._map_at = 0.0
        self._http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=75.0))
        self.verifier = Verifier(self)

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

    def install_metadata(self, server: Any) -> None:
        """Serve the document at the server's root `/.well-known/oauth-protected-resource`
        (the `mcp` package serves it at the path-suffixed URL the 401 names)."""
        from starlette.responses import JSONResponse

        @server.custom_route("/.well-known/oauth-protected-resource", methods=["GET"])
        async def _metadata(_request: Any) -> Any:
            return JSONResponse(self.metadata(await self.tool_map()))

    # jitgate calls ----------------------------------------------------------------------
    async def tool_map(self) -> ToolMap:
        if self._fixed is not None:
            return self._fixed
        if self._map is None or time.monotonic() - self._map_at > self.refresh_seconds:
            response = await self._http.get(f"{self.api}/resources", headers=self._admin())
            body = _checked(response)
            found = [r for r in body["items"] if r["resource_uri"] == self.resource_uri]
            # Not registered (or removed): nothing is mapped, so no tool runs.
            self._map = ToolMap.from_resource(found[0]) if found else ToolMap({})
            self._map_at = time.monotonic()
        return self._map

    async def is_active(self, token: str) -> bool:
        """RFC 7662 introspection with the admin token: revoked tokens, suspended agents."""
        if self.admin_token is None:
            raise ValueError("check_active needs admin_token (introspection)")
        response = await self._http.post(
            f"{self.api}/oauth/introspect", data={"token": token}, headers=self._admin()
        )
        return bool(_checked(response).get("active"))

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
        token, tool_map = _caller(ctx), await self.tool_map()
        listing = (
            types.ListToolsResult.model_validate(result) if isinstance(result, dict) else result
        )
        shown = []
        for tool in listing.tools:
            verdict = _verdict(tool_map, tool.name, token)
            if verdict == "jit":
                meta = {**(tool.meta or {}), APPROVAL_META: "required"}
                text = f"[needs human approval per call] {tool.description or ''}".strip()
                shown.append(tool.model_copy(update={"meta": meta, "description": text}))
            elif verdict == "allow":
                shown.append(tool)
        return listing.model_copy(update={"tools": shown})

    async def _call(self, ctx: Any, call_next: Any) -> Any:
        token = _caller(ctx)
        params = dict(ctx.params or {})
        name, arguments = str(params.get("name", "")), params.get("arguments") or {}
        tool_map = await self.tool_map()
        verdict = _verdict(tool_map, name, token)
        if verdict == "allow":
            return await call_next(ctx)
        if verdict != "jit" or token is None:
            return _tool_error(f"tool {name!r} is not permitted for this caller")
        permission = str(tool_map.permission(name))
        approval = JitCall(self, ctx, token, permission, name, arguments)
        refusal = await approval.obtain()
        if refusal is not None:
            return _tool_error(refusal)
        return await call_next(ctx)


@dataclass
class JitCall:
    """One JIT tool call: open (or find) the request, wait for it, redeem its token once."""

    gate: McpGate
    ctx: Any
    caller: AccessToken
    permission: str
    tool: str
    arguments: dict[str, Any]

    @property
    def operation(self) -> dict[str, Any]:
        return {"tool": self.tool, "arguments": self.arguments}

    def idempotency_key(self, generation: int) -> str:
        # Same agent, tool and arguments -> the same request, so a retry after a timeout is
        # matched to it; a spent request moves the key on to the next generation.
        seed = rfc8785.dumps({"agent": self.caller.subject, **self.operation})
        return f"mcp:{hashlib.sha256(seed).hexdigest()[:40]}:{generation}"

    async def obtain(self) -> str | None:
        """None when the tool may run now (its JIT token redeemed); else the refusal text."""
        request = await self._open()
        if "error" in request:
            return f"jitgate refused the approval request: {request['error_description']}"
        request = await self._wait(request)
        request_id, status = request["request_id"], request["status"]
        if status != "approved" or "token" not in request:
            if status == "pending":
                return (
                    f"approval pending: JIT request {request_id} awaits a human decision; "
                    "call the tool again with the same arguments once it is approved"
                )
            return f"JIT request {request_id} was {status}; the tool did not run"
        return await self._redeem(request)

    async def _open(self) -> dict[str, Any]:
        for generation in range(100):
            body = {
                "permission": self.permission,
                "justification": f"MCP tool call {self.tool} on {self.gate.resource_uri}",
                "operation": self.operation,
                "resource": self.gate.resource_uri,
                "idempotency_key": self.idempotency_key(generation),
            }
            response = await self.gate._http.post(
                f"{self.gate.api}/jit/requests", json=body, headers=self._bearer()
            )
            request = response.json()
            if response.status_code >= 400 or request.get("status") not in FINAL:
                return request
        return {"error": "too_many", "error_description": "too many spent requests for this call"}

    async def _wait(self, request: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + self.gate.jit_wait
        url = f"{self.gate.api}/jit/requests/{request['request_id']}"
        while request["status"] == "pending" and (left := deadline - time.monotonic()) > 0:
            await self._progress(request["request_id"], deadline)
            wait = max(1, min(POLL_SECONDS, int(left)))
            response = await self.gate._http.get(url, params={"wait": wait}, headers=self._bearer())
            request = _checked(response)
        return request

    async def _progress(self, request_id: str, deadline: float) -> None:
        progress_token = _progress_token(self.ctx)
        if progress_token is None:
            return
        left = max(0.0, deadline - time.monotonic())
        await self.ctx.session.send_progress_notification(
            progress_token,
            progress=round(self.gate.jit_wait - left, 1),
            total=self.gate.jit_wait,
            message=f"waiting for a human to approve JIT request {request_id}",
            related_request_id=self.ctx.request_id,
        )

    async def _redeem(self, request: dict[str, Any]) -> str | None:
        body = {
            "token": request["token"]["access_token"],
            "permission": self.permission,
            "operation": self.operation,
            "resource": self.gate.resource_uri,
        }
        response = await self.gate._http.post(f"{self.gate.api}/jit/tokens/consume", json=body)
        if response.status_code != 200:
            refusal = response.json()
            return f"JIT request {request['request_id']}: {refusal.get('error_description')}"
        return None

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.caller.token}"}


def _caller(ctx: Any) -> AccessToken | None:
    request = getattr(ctx, "request", None)
    user = request.scope.get("user") if request is not None else None
    return user.access_token if isinstance(user, AuthenticatedUser) else None


def _verdict(tool_map: ToolMap, tool: str, token: AccessToken | None) -> str:
    """allow | jit | deny, for this caller and tool; anything not mapped is deny."""
    permission = tool_map.permission(tool)
    if token is None or permission is None or permission in tool_map.denied_permissions:
        return "deny"
    if permission in tool_map.jit_permissions:
        return "jit"
    return "allow" if permission in token.scopes else "deny"


def _progress_token(ctx: Any) -> Any:
    meta = getattr(ctx, "meta", None) or {}
    raw = (ctx.params or {}).get("_meta") or {}
    return meta.get("progress_token") or meta.get("progressToken") or raw.get("progressToken")


def _tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _checked(response: httpx.Response) -> dict[str, Any]:
    from jitgate._protocol import checked_json

    return checked_json(response)

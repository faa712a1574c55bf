"""The tool rules every jitgate-protected MCP server applies (jitgate.mcp and the proxy alike).

An unmapped tool never runs and is not listed; a standing tool runs when the caller's token
holds its permission; a JIT tool is listed as needing approval, and a call to it opens a JIT
request with the caller's own token, waits (with progress notifications), redeems the
single-use token for exactly that call and runs once.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import mcp_types as types
import rfc8785
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from jitgate._protocol import checked_json

APPROVAL_META = "io.jitgate/approval"
FINAL = ("denied", "expired", "cancelled", "consumed", "revoked", "token_expired")
POLL_SECONDS = 15  # one long-poll; a progress notification goes out between polls
ALLOW, JIT, DENY = "allow", "jit", "deny"


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


def verdict(tool_map: ToolMap, tool: str, token: AccessToken | None) -> str:
    """allow | jit | deny, for this caller and tool; anything not mapped is deny."""
    permission = tool_map.permission(tool)
    if token is None or permission is None or permission in tool_map.denied_permissions:
        return DENY
    if permission in tool_map.jit_permissions:
        return JIT
    return ALLOW if permission in token.scopes else DENY


def visible_tools(tool_map: ToolMap, tools: list[types.Tool], token: AccessToken | None) -> list:
    """What `tools/list` shows this caller: its standing tools, and JIT tools marked as such."""
    shown = []
    for tool in tools:
        seen = verdict(tool_map, tool.name, token)
        if seen == JIT:
            meta = {**(tool.meta or {}), APPROVAL_META: "required"}
            text = f"[needs human approval per call] {tool.description or ''}".strip()
            shown.append(tool.model_copy(update={"meta": meta, "description": text}))
        elif seen == ALLOW:
            shown.append(tool)
    return shown


class JitgateApi(Protocol):
    """What a JIT call needs from its server: jitgate's API, its HTTP client, this resource."""

    api: str
    resource_uri: str
    jit_wait: float

    @property
    def http(self) -> httpx.AsyncClient: ...


@dataclass
class JitCall:
    """One JIT tool call: open (or find) the request, wait for it, redeem its token once."""

    server: JitgateApi
    ctx: Any
    caller: AccessToken
    permission: str
    tool: str
    arguments: dict[str, Any]
    request_id: str | None = None

    @property
    def operation(self) -> dict[str, Any]:
        return {"tool": self.tool, "arguments": self.arguments}

    def idempotency_key(self, generation: int) -> str:
        # Same agent, subject (the user it acts for, else itself), tool and arguments -> the
        # same request, so a retry after a timeout is matched to it; a spent request moves the
        # key on to the next generation. The subject keeps one user's approval from another's,
        # the resource one server's from another's (the same tool name on two servers).
        who = {
            "agent": self.caller.client_id,
            "subject": self.caller.subject,
            "resource": self.server.resource_uri,
        }
        seed = rfc8785.dumps({**who, **self.operation})
        return f"mcp:{hashlib.sha256(seed).hexdigest()[:40]}:{generation}"

    async def obtain(self) -> str | None:
        """None when the tool may run now (its JIT token redeemed); else the refusal text."""
        request = await self._open()
        if "error" in request:
            return f"jitgate refused the approval request: {request['error_description']}"
        self.request_id = request["request_id"]
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
                "justification": f"MCP tool call {self.tool} on {self.server.resource_uri}",
                "operation": self.operation,
                "resource": self.server.resource_uri,
                "idempotency_key": self.idempotency_key(generation),
            }
            response = await self.server.http.post(
                f"{self.server.api}/jit/requests", json=body, headers=self._bearer()
            )
            request = response.json()
            if response.status_code >= 400 or request.get("status") not in FINAL:
                return request
        return {"error": "too_many", "error_description": "too many spent requests for this call"}

    async def _wait(self, request: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + self.server.jit_wait
        url = f"{self.server.api}/jit/requests/{request['request_id']}"
        while request["status"] == "pending" and (left := deadline - time.monotonic()) > 0:
            await self._progress(request["request_id"], deadline)
            wait = max(1, min(POLL_SECONDS, int(left)))
            response = await self.server.http.get(
                url, params={"wait": wait}, headers=self._bearer()
            )
            request = checked_json(response)
        return request

    async def _progress(self, request_id: str, deadline: float) -> None:
        token = progress_token(self.ctx)
        if token is None:
            return
        left = max(0.0, deadline - time.monotonic())
        await self.ctx.session.send_progress_notification(
            token,
            progress=round(self.server.jit_wait - left, 1),
            total=self.server.jit_wait,
            message=f"waiting for a human to approve JIT request {request_id}",
            related_request_id=self.ctx.request_id,
        )

    async def _redeem(self, request: dict[str, Any]) -> str | None:
        body = {
            "token": request["token"]["access_token"],
            "permission": self.permission,
            "operation": self.operation,
            "resource": self.server.resource_uri,
        }
        response = await self.server.http.post(f"{self.server.api}/jit/tokens/consume", json=body)
        if response.status_code != 200:
            refusal = response.json()
            return f"JIT request {request['request_id']}: {refusal.get('error_description')}"
        return None

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.caller.token}"}


def caller(ctx: Any) -> AccessToken | None:
    """The verified access token of the HTTP request behind this MCP message, if any."""
    request = getattr(ctx, "request", None)
    user = request.scope.get("user") if request is not None else None
    return user.access_token if isinstance(user, AuthenticatedUser) else None


def progress_token(ctx: Any) -> Any:
    meta = getattr(ctx, "meta", None) or {}
    raw = (ctx.params or {}).get("_meta") or {}
    return meta.get("progress_token") or meta.get("progressToken") or raw.get("progressToken")


def tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def is_error_result(result: Any) -> bool:
    """A tool result that reports failure (the tool ran and said so)."""
    if isinstance(result, dict):
        return bool(result.get("isError") or result.get("is_error"))
    return bool(getattr(result, "is_error", False))

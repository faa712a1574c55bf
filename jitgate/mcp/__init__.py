"""jitgate for MCP (the `mcp` package, >= 2.3; `pip install 'jitgate[mcp]'`).

Protect an MCP server you write:

    gate = McpGate(jitgate_url=..., org_id=..., resource_uri="https://tools.example/mcp",
                   admin_token=...)                # or tools={...}, jit_permissions={...}
    server = MCPServer("tools", auth=gate.auth_settings(), token_verifier=gate.verifier,
                       middleware=[gate])
    gate.install_metadata(server)                   # /.well-known/oauth-protected-resource

Put someone else's behind jitgate unchanged: `jitgate mcp-proxy` (jitgate.mcp.proxy).
Connect an agent to a protected server: `JitgateMcpAuth` (jitgate.mcp.client_auth).

Tool rules (jitgate.mcp.rules): an unmapped tool never runs and is not listed; a standing tool
runs when the token holds its permission; a JIT tool is listed as needing approval and a call
opens a JIT request with the caller's own token, waits (with progress notifications), redeems
the single-use token for exactly that call and runs once. Every call and its outcome goes to
the audit trail (jitgate.mcp.audit).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Imported on first use: the client side (client_auth) needs only httpx, so an agent whose
# framework pins another `mcp` (langchain-mcp-adapters: mcp 1.x) can still use it.
_EXPORTS = {
    "McpGate": "jitgate.mcp.gate",
    "Verifier": "jitgate.mcp.gate",
    "APPROVAL_META": "jitgate.mcp.rules",
    "JitCall": "jitgate.mcp.rules",
    "ToolMap": "jitgate.mcp.rules",
    "JitgateMcpAuth": "jitgate.mcp.client_auth",
    "JitgateMcpHttpxAuth": "jitgate.mcp.client_auth",
}
__all__ = sorted(_EXPORTS)
MISSING = (
    "jitgate.mcp needs the mcp package (>= 2.3): pip install 'jitgate[mcp]' (or 'jitgate-sdk[mcp]')"
)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jitgate.mcp' has no attribute {name!r}")
    try:
        return getattr(import_module(module), name)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] in ("mcp", "mcp_types", "httpx2"):
            raise ImportError(MISSING) from exc
        raise

"""Request bodies of the resource routes; the rules beyond shape live in service.py."""

from typing import Any, Literal

from pydantic import Field

from app.http.body import Body

MAX_TOOLS = 500
# What a server may send as a called tool's name (the caller chose it); 128 chars are kept.
MAX_REPORTED_TOOL_CHARS = 1024


class ResourceIn(Body):
    name: str = Field(max_length=200)
    resource_uri: str = Field(max_length=2048)
    kind: str = "mcp"
    tools: dict[str, str] = Field(default_factory=dict, max_length=MAX_TOOLS)
    default_permission: str | None = Field(default=None, max_length=200)


class ToolCallIn(Body):
    """One tool call as a protected server saw it (POST /resources/tool-calls)."""

    resource: str = Field(max_length=2048)
    token: str = Field(max_length=8192)  # the access token the caller presented
    # Any name the caller chose (a refused call's may be odd): stored escaped and truncated.
    tool: str = Field(min_length=1, max_length=MAX_REPORTED_TOOL_CHARS)
    # SHA-256 of the RFC 8785 form of {"tool": .., "arguments": {..}}, as a JIT operation's;
    # omitted only for a call refused because its arguments have no canonical form (or are
    # too large to hash): tool_calls.py refuses it with any other outcome.
    operation_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    arguments: dict[str, Any] | None = None
    outcome: Literal["success", "error", "refused"]
    reason: str = Field(default="", max_length=1000)
    jit_request_id: str | None = Field(default=None, max_length=64)

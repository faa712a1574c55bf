"""Request bodies of the resource routes; the rules beyond shape live in service.py."""

from typing import Any, Literal

from pydantic import Field

from app.http.body import Body

MAX_TOOLS = 500


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
    tool: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    # SHA-256 of the RFC 8785 form of {"tool": .., "arguments": {..}}, as a JIT operation's.
    operation_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    arguments: dict[str, Any] | None = None
    outcome: Literal["success", "error", "refused"]
    reason: str = Field(default="", max_length=1000)
    jit_request_id: str | None = Field(default=None, max_length=64)

"""Request bodies of the resource routes; the rules beyond shape live in service.py."""

from pydantic import Field

from app.http.body import Body

MAX_TOOLS = 500


class ResourceIn(Body):
    name: str = Field(max_length=200)
    resource_uri: str = Field(max_length=2048)
    kind: str = "mcp"
    tools: dict[str, str] = Field(default_factory=dict, max_length=MAX_TOOLS)
    default_permission: str | None = Field(default=None, max_length=200)

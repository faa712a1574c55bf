"""The protected_resource table: a server tokens may name as their audience, and its tool map."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.columns import json_column, new_id, tz_column, utcnow


class ProtectedResource(SQLModel, table=True):
    __tablename__ = "protected_resource"
    # One org names a server once: the URI is what a token's aud is compared with.
    __table_args__ = (UniqueConstraint("org_id", "resource_uri"),)
    id: str = Field(default_factory=lambda: new_id("res_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    resource_uri: str = Field(max_length=2048)
    kind: str = Field(default="mcp", max_length=16)  # mcp | api
    # tool name -> permission; a tool missing here never runs (jitgate.mcp).
    tools: dict = Field(default_factory=dict, sa_column=json_column())
    default_permission: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())

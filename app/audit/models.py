"""The audit trail: one hash-chained event per decision or state change."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.columns import json_column, tz_column, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("org_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(index=True, max_length=64)
    seq: int
    ts: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    actor: str = Field(max_length=200)
    action: str = Field(index=True, max_length=64)
    target: str = Field(default="", max_length=200)
    outcome: str = Field(max_length=32)
    reason: str = Field(default="", max_length=2000)
    details: dict = Field(default_factory=dict, sa_column=json_column())
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)

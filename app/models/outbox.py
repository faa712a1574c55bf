"""The transactional outbox: each side effect a JIT state change needs, written with the change."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models._types import json_column, tz_column, utcnow


class OutboxRow(SQLModel, table=True):
    """One side effect (announce, outcome, webhook, callback) still owed or already done.

    Written in the transaction that makes it necessary, so a broker outage between the commit
    and the enqueue loses nothing: the relay (workers/relay.py) re-drives every row not done.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    request_id: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=16)  # announce | outcome | webhook | callback
    # What a receiver deduplicates on: the same for every attempt of this effect.
    event_id: str = Field(max_length=200)
    task: str = Field(max_length=100)
    args: list = Field(default_factory=list, sa_column=json_column())
    status: str = Field(default="pending", max_length=16)  # pending | done | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=tz_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    done_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))

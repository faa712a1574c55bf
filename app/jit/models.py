"""Tables for just-in-time approval: approvers, policies, requests, decisions, deliveries."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.columns import json_column, json_column_nullable, new_id, tz_column, utcnow
from app.jit.status import RequestStatus


class Approver(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("org_id", "email"),)
    id: str = Field(default_factory=lambda: new_id("apr_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(default=None, index=True, max_length=64)
    groups: list[str] = Field(default_factory=list, sa_column=json_column())
    token_hash: str = Field(unique=True, max_length=64)
    # active | disabled | deleted. A deleted approver's row stays so the audit trail and past
    # decisions keep a name; it can no longer sign in, decide or be named by a policy.
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())


class Policy(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("org_id", "permission"),)
    id: str = Field(default_factory=lambda: new_id("pol_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    permission: str = Field(max_length=200)  # exact name or a prefix pattern ending in ".*"
    mode: str = Field(max_length=16)  # standing | jit | deny
    approvers: list[str] = Field(default_factory=list, sa_column=json_column())
    groups: list[str] = Field(default_factory=list, sa_column=json_column())
    approvals_required: int = 1
    max_token_ttl: int = 600
    pending_timeout: int = 900
    channels: list[str] = Field(default_factory=list, sa_column=json_column())
    # Each channel's own settings, per slug ({"slack": {"slack_channel": "#ops"}}), validated
    # and shown by the channel registry (notifiers/registry.py); migration 0013.
    channel_settings: dict = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    # Superseded by channel_settings (migration 0013 copied them): kept, never dropped, never
    # read or written.
    slack_channel: str | None = Field(default=None, max_length=200)
    webhook_url: str | None = Field(default=None, max_length=2048)
    allow_self_approval: bool = False
    auto_approve: bool = False
    # required: usable only on a user's behalf (a delegated token); forbidden: never so.
    delegation: str = Field(
        default="allowed", max_length=16, sa_column_kwargs={"server_default": "allowed"}
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())


class JitRequest(SQLModel, table=True):
    __tablename__ = "jit_request"
    __table_args__ = (UniqueConstraint("org_id", "agent_id", "idempotency_key"),)
    id: str = Field(default_factory=lambda: new_id("jit_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    agent_id: str = Field(foreign_key="agent.id", index=True, max_length=64)
    permission: str = Field(max_length=200)
    operation: dict = Field(default_factory=dict, sa_column=json_column())
    operation_hash: str = Field(max_length=64)
    justification: str = Field(max_length=2000)
    requested_ttl: int
    granted_ttl: int
    status: str = Field(default=RequestStatus.PENDING, index=True, max_length=16)
    policy_id: str | None = Field(default=None, max_length=64)
    approvals_required: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    pending_deadline: datetime = Field(sa_column=tz_column())
    decided_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    decision_reason: str | None = Field(default=None, max_length=2000)
    token_jti: str | None = Field(default=None, max_length=64)
    token_encrypted: str | None = None
    token_expires_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    consumed_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    idempotency_key: str | None = Field(default=None, max_length=200)
    callback_url: str | None = Field(default=None, max_length=2048)
    # RFC 8707: the server the JIT token is for (its aud); None = jitgate's issuer.
    resource: str | None = Field(default=None, max_length=2048)
    notified_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    # Opened with a delegated token: {on_behalf_of, actors, parents, epochs} (app.identity.chain).
    delegation: dict | None = Field(default=None, sa_column=json_column_nullable())


class JitDecision(SQLModel, table=True):
    __tablename__ = "jit_decision"
    __table_args__ = (UniqueConstraint("request_id", "approver_id"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="jit_request.id", index=True, max_length=64)
    approver_id: str = Field(max_length=64)
    decision: str = Field(max_length=16)  # approve | deny
    comment: str | None = Field(default=None, max_length=2000)
    channel: str = Field(default="api", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())


class Delivery(SQLModel, table=True):
    """One notification to one place; the dedup key makes a redelivered task post nothing twice."""

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(unique=True, max_length=300)
    request_id: str = Field(index=True, max_length=64)
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)  # announce | outcome
    target: str = Field(default="", max_length=320)
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    external_ref: dict | None = Field(default=None, sa_column=json_column_nullable())
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())

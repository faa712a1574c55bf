"""Tables for who is who: organizations, admin tokens, agents and their keys, issued tokens."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.columns import json_column, json_column_nullable, new_id, tz_column, utcnow


class Org(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    # Head of the audit hash chain; advanced only by compare-and-set on audit_seq.
    audit_seq: int = 0
    audit_head: str = Field(default="0" * 64, max_length=64)


class AdminToken(SQLModel, table=True):
    __tablename__ = "admin_token"
    id: str = Field(default_factory=lambda: new_id("adm_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    label: str = Field(default="", max_length=200)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    revoked_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    # The address an emailed one-time sign-in link for this token goes to (None: no links).
    email: str | None = Field(default=None, index=True, max_length=320)


class Agent(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    id: str = Field(default_factory=lambda: new_id("agt_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    name: str = Field(max_length=63)
    capabilities: list[str] = Field(default_factory=list, sa_column=json_column())
    jwks_uri: str | None = Field(default=None, max_length=2048)
    owner: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, max_length=2000)
    status: str = Field(default="active", max_length=16)
    # Overrides of the org-wide rate limits (app/identity/rate_limits.py); None = all defaults.
    budget: dict | None = Field(default=None, sa_column=json_column_nullable())
    # Raised on every reactivation; tokens carry the value they were issued under, so a token
    # from before a suspension stays dead after the agent is reactivated.
    status_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())


class AgentKey(SQLModel, table=True):
    __tablename__ = "agent_key"
    __table_args__ = (UniqueConstraint("agent_id", "kid"),)
    id: int | None = Field(default=None, primary_key=True)
    agent_id: str = Field(foreign_key="agent.id", index=True, max_length=64)
    kid: str = Field(max_length=200)
    alg: str = Field(max_length=16)
    jwk: dict = Field(sa_column=json_column())
    source: str = Field(default="inline", max_length=16)  # inline | jwks_uri
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())


class IssuedToken(SQLModel, table=True):
    __tablename__ = "issued_token"
    jti: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(index=True, max_length=64)
    agent_id: str = Field(index=True, max_length=64)
    kind: str = Field(default="access", max_length=16)  # access | jit
    scope: str = Field(default="", max_length=4000)
    audience: str = Field(default="", max_length=2048)
    issued_at: datetime = Field(sa_column=tz_column())
    expires_at: datetime = Field(sa_column=tz_column())
    revoked_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    # A delegated token (RFC 8693): the user it acts for, and the delegated token it was
    # exchanged from (None on the first hop). Revoking a token revokes every token below it.
    subject: str | None = Field(default=None, max_length=320)
    parent_jti: str | None = Field(default=None, index=True, max_length=64)
    # Embedded mode: the client assertion this token was issued for, whose jti's claim the
    # record keeps until claim_expires_at (app/identity/replay.py): one row a token, not two.
    assertion_jti: str | None = Field(default=None, max_length=256)
    claim_expires_at: datetime | None = Field(
        default=None, sa_column=tz_column(nullable=True, index=True)
    )


class UsedAssertion(SQLModel, table=True):
    """Client assertion jtis already used, kept until the assertion expires, so that in embedded
    mode (no Redis) a restart does not reopen the replay window (app/identity/replay.py). The
    claim of an assertion that was exchanged for a token is kept in the token's record instead."""

    __tablename__ = "used_assertion"
    agent_id: str = Field(primary_key=True, max_length=64)
    jti: str = Field(primary_key=True, max_length=256)
    expires_at: datetime = Field(sa_column=tz_column(index=True))


class SigningKey(SQLModel, table=True):
    """The service's own Ed25519 keys, one set per org; the private half is encrypted with
    JITGATE_SECRET_KEY. org_id is null only for the key that releases before per-org keys
    shared between all orgs: it no longer signs and stays published until its tokens expire."""

    __tablename__ = "signing_key"
    kid: str = Field(primary_key=True, max_length=64)
    org_id: str | None = Field(default=None, index=True, max_length=64)
    private_key_encrypted: str
    public_jwk: dict = Field(sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    retired_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    # After a rotation the old key stays in the JWKS until every token it signed has expired.
    publish_until: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))


class Permission(SQLModel, table=True):
    """The org's permission catalog, read by the Ask API."""

    __table_args__ = (UniqueConstraint("org_id", "permission"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    permission: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    synonyms: list[str] = Field(default_factory=list, sa_column=json_column())
    source: str = Field(default="admin", max_length=16)  # admin | capability | policy
    extra: dict | None = Field(default=None, sa_column=json_column_nullable())

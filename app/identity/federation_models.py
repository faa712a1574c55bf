"""Tables for outside identities: the org's trusted issuers and its workload federation rules."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.columns import json_column, json_column_nullable, new_id, tz_column, utcnow


class TrustedIssuer(SQLModel, table=True):
    """An outside token issuer this org trusts for one kind of subject (users or workloads)."""

    __tablename__ = "trusted_issuer"
    __table_args__ = (UniqueConstraint("org_id", "issuer", "kind"),)
    id: str = Field(default_factory=lambda: new_id("tis_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    issuer: str = Field(max_length=2048)
    kind: str = Field(max_length=16)  # user | workload
    name: str | None = Field(default=None, max_length=200)
    audiences: list[str] = Field(default_factory=list, sa_column=json_column())
    subject_claim: str = Field(default="sub", max_length=16)
    jwks: dict | None = Field(default=None, sa_column=json_column_nullable())
    jwks_uri: str | None = Field(default=None, max_length=2048)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())


class FederationRule(SQLModel, table=True):
    """A workload whose platform token (issuer + exact subject + exact claims) acts as an agent."""

    __tablename__ = "federation_rule"
    id: str = Field(default_factory=lambda: new_id("fed_"), primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="org.id", index=True, max_length=64)
    agent_id: str = Field(foreign_key="agent.id", index=True, max_length=64)
    issuer_id: str = Field(foreign_key="trusted_issuer.id", index=True, max_length=64)
    subject: str = Field(max_length=512)
    claims: dict = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())

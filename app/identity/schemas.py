"""Bodies of the agent registration API, and of trusted issuers and federation rules (shared
with `jitgate issuers` and `jitgate agents federate`, so both accept and print the same)."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.times import UtcDatetime
from app.http.body import Body
from app.identity.federation_models import FederationRule, TrustedIssuer
from app.identity.issuers import MAX_AUDIENCES


class AgentRegister(Body):
    name: str = Field(max_length=200)
    capabilities: list[str] = Field(default_factory=list, max_length=200)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(default=None, max_length=2048)
    owner: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, max_length=2000)


class BudgetPatch(Body):
    """Per-agent overrides of the org-wide rate limits; null resets one to the default.
    Whole JSON numbers only (strict): "5", 2.5 and true are refused."""

    requests_per_minute: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    jit_requests_per_hour: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    max_pending_jit: int | None = Field(default=None, ge=1, le=10_000, strict=True)


class AgentPatch(Body):
    capabilities: list[str] | None = Field(default=None, max_length=200)
    status: str | None = None
    owner: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, max_length=2000)
    budget: BudgetPatch | None = None


class AgentJwks(Body):
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(default=None, max_length=2048)


class AgentPublic(BaseModel):
    agent_id: str
    name: str
    capabilities: list[str]
    status: str
    key_ids: list[str]
    jwks_uri: str | None
    owner: str | None
    description: str | None
    token_endpoint: str
    budget: dict[str, int]  # effective: the agent's overrides, else the org-wide defaults
    budget_overrides: dict[str, int]
    created_at: UtcDatetime


class IssuerIn(Body):
    issuer: str = Field(max_length=2048)
    kind: Literal["user", "workload"]
    audiences: list[str] = Field(max_length=MAX_AUDIENCES)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(default=None, max_length=2048)
    name: str | None = Field(default=None, max_length=200)
    subject_claim: Literal["sub", "email"] = "sub"


class IssuerPublic(BaseModel):
    issuer_id: str
    issuer: str
    kind: str
    audiences: list[str]
    jwks_uri: str | None
    key_ids: list[str]
    name: str | None
    subject_claim: str
    created_at: UtcDatetime

    @classmethod
    def of(cls, row: TrustedIssuer) -> "IssuerPublic":
        key_ids = [k["kid"] for k in (row.jwks or {}).get("keys", [])]  # the keys, not the JWKS
        return cls.model_validate(row.model_dump() | {"issuer_id": row.id, "key_ids": key_ids})


class RuleIn(Body):
    issuer_id: str = Field(max_length=64)
    subject: str = Field(max_length=512)
    claims: dict[str, Any] | None = None


class RulePublic(BaseModel):
    rule_id: str
    agent_id: str
    issuer_id: str
    subject: str
    claims: dict[str, Any]
    created_at: UtcDatetime

    @classmethod
    def of(cls, row: FederationRule) -> "RulePublic":
        return cls.model_validate(row.model_dump() | {"rule_id": row.id})

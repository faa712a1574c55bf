"""Request bodies of the trusted-issuer and federation-rule routes (and the admin portal's
forms, which are read into the same bodies); the rules beyond shape live in issuers.py."""

from typing import Any, Literal

from pydantic import Field

from app.identity import issuers
from app.schemas import Body


class IssuerIn(Body):
    issuer: str = Field(max_length=2048)
    kind: Literal["user", "workload"]
    audiences: list[str] = Field(max_length=issuers.MAX_AUDIENCES)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(default=None, max_length=2048)
    name: str | None = Field(default=None, max_length=200)
    subject_claim: Literal["sub", "email"] = "sub"


class RuleIn(Body):
    issuer_id: str = Field(max_length=64)
    subject: str = Field(max_length=512)
    claims: dict[str, Any] | None = None

"""Trusted issuers and workload federation rules (admin token)."""

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.core.times import UtcDatetime
from app.http.deps import CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Cursor, Limit, page
from app.identity import issuers
from app.identity.federation_models import FederationRule, TrustedIssuer
from app.identity.schemas import IssuerIn, RuleIn

router = APIRouter(tags=["federation"])


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


class RulePublic(BaseModel):
    rule_id: str
    agent_id: str
    issuer_id: str
    subject: str
    claims: dict[str, Any]
    created_at: UtcDatetime


def _issuer(row: TrustedIssuer) -> IssuerPublic:
    return IssuerPublic(
        issuer_id=row.id,
        issuer=row.issuer,
        kind=row.kind,
        audiences=row.audiences,
        jwks_uri=row.jwks_uri,
        key_ids=[k["kid"] for k in (row.jwks or {}).get("keys", [])],
        name=row.name,
        subject_claim=row.subject_claim,
        created_at=row.created_at,
    )


def _rule(row: FederationRule) -> RulePublic:
    return RulePublic(
        rule_id=row.id,
        agent_id=row.agent_id,
        issuer_id=row.issuer_id,
        subject=row.subject,
        claims=row.claims,
        created_at=row.created_at,
    )


@router.post("/trusted-issuers", status_code=201, response_model=IssuerPublic)
def create_issuer(
    org_id: OrgId, body: IssuerIn, session: SessionDep, admin: CurrentAdmin
) -> IssuerPublic:
    row = issuers.create_issuer(session, org_id=org_id, actor=admin.id, **body.model_dump())
    return _issuer(row)


@router.get("/trusted-issuers")
def list_issuers(
    org_id: OrgId,
    session: SessionDep,
    _admin: CurrentAdmin,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    rows = issuers.list_issuers(session, org_id=org_id)
    return page(rows, limit=limit, cursor=cursor, key=lambda r: r.id, render=_issuer)


@router.delete("/trusted-issuers/{issuer_id}", status_code=204)
def delete_issuer(
    org_id: OrgId, issuer_id: str, session: SessionDep, admin: CurrentAdmin
) -> Response:
    issuers.delete_issuer(session, org_id=org_id, issuer_id=issuer_id, actor=admin.id)
    return Response(status_code=204)


@router.post("/agents/{agent_id}/federation", status_code=201, response_model=RulePublic)
def create_rule(
    org_id: OrgId, agent_id: str, body: RuleIn, session: SessionDep, admin: CurrentAdmin
) -> RulePublic:
    row = issuers.create_rule(
        session, org_id=org_id, agent_id=agent_id, actor=admin.id, **body.model_dump()
    )
    return _rule(row)


@router.get("/agents/{agent_id}/federation")
def list_rules(
    org_id: OrgId,
    agent_id: str,
    session: SessionDep,
    _admin: CurrentAdmin,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    rows = issuers.list_rules(session, org_id=org_id, agent_id=agent_id)
    return page(rows, limit=limit, cursor=cursor, key=lambda r: r.id, render=_rule)


@router.delete("/agents/{agent_id}/federation/{rule_id}", status_code=204)
def delete_rule(
    org_id: OrgId, agent_id: str, rule_id: str, session: SessionDep, admin: CurrentAdmin
) -> Response:
    issuers.delete_rule(session, org_id=org_id, agent_id=agent_id, rule_id=rule_id, actor=admin.id)
    return Response(status_code=204)

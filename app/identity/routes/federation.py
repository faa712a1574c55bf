"""Trusted issuers and workload federation rules (admin token)."""

from typing import Any

from fastapi import APIRouter, Response

from app.http.deps import ADMIN_ONLY, CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Paging
from app.identity import issuers
from app.identity.schemas import IssuerIn, IssuerPublic, RuleIn, RulePublic

router = APIRouter(tags=["federation"], dependencies=[ADMIN_ONLY])


@router.post("/trusted-issuers", status_code=201, response_model=IssuerPublic)
def create_issuer(
    org_id: OrgId, body: IssuerIn, session: SessionDep, admin: CurrentAdmin
) -> IssuerPublic:
    row = issuers.create_issuer(session, org_id=org_id, actor=admin.id, **body.model_dump())
    return IssuerPublic.of(row)


@router.get("/trusted-issuers")
def list_issuers(org_id: OrgId, session: SessionDep, paging: Paging) -> dict[str, Any]:
    rows = issuers.list_issuers(session, org_id=org_id)
    return paging.page(rows, key=lambda r: r.id, render=IssuerPublic.of)


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
    return RulePublic.of(row)


@router.get("/agents/{agent_id}/federation")
def list_rules(org_id: OrgId, agent_id: str, session: SessionDep, paging: Paging) -> dict[str, Any]:
    rows = issuers.list_rules(session, org_id=org_id, agent_id=agent_id)
    return paging.page(rows, key=lambda r: r.id, render=RulePublic.of)


@router.delete("/agents/{agent_id}/federation/{rule_id}", status_code=204)
def delete_rule(
    org_id: OrgId, agent_id: str, rule_id: str, session: SessionDep, admin: CurrentAdmin
) -> Response:
    issuers.delete_rule(session, org_id=org_id, agent_id=agent_id, rule_id=rule_id, actor=admin.id)
    return Response(status_code=204)

"""Policy routes (admin token)."""

from typing import Any

from fastapi import APIRouter, Response

from app.authz import policies
from app.authz.schemas import PolicyIn
from app.http.deps import ADMIN_ONLY, CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Paging
from app.models import Policy

router = APIRouter(tags=["policies"], dependencies=[ADMIN_ONLY])


def _with_warnings(session: SessionDep, policy: Policy) -> dict[str, Any]:
    """The policy, and `warnings` when it was accepted but looks like a mistake."""
    warnings = policies.warnings_for(session, org_id=policy.org_id, pattern=policy.permission)
    return policies.public(policy) | ({"warnings": warnings} if warnings else {})


@router.post("/policies", status_code=201)
def create(
    org_id: OrgId, body: PolicyIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    created = policies.create(session, org_id=org_id, body=data, actor=admin.id)
    return _with_warnings(session, created)


@router.get("/policies")
def list_all(org_id: OrgId, session: SessionDep, paging: Paging) -> dict[str, Any]:
    rows = policies.list_policies(session, org_id=org_id)
    return paging.page(rows, key=lambda p: p.id, render=policies.public)


@router.get("/policies/{policy_id}")
def get_one(org_id: OrgId, policy_id: str, session: SessionDep) -> dict[str, Any]:
    return policies.public(policies.get(session, org_id=org_id, policy_id=policy_id))


@router.put("/policies/{policy_id}")
def replace(
    org_id: OrgId, policy_id: str, body: PolicyIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    replaced = policies.replace(
        session, org_id=org_id, policy_id=policy_id, body=data, actor=admin.id
    )
    return _with_warnings(session, replaced)


@router.delete("/policies/{policy_id}", status_code=204)
def delete(org_id: OrgId, policy_id: str, session: SessionDep, admin: CurrentAdmin) -> Response:
    policies.delete(session, org_id=org_id, policy_id=policy_id, actor=admin.id)
    return Response(status_code=204)

"""Policy routes (admin token)."""

from typing import Any

from fastapi import APIRouter, Response

from app.authz import policies
from app.http.deps import CurrentAdmin, OrgId, SessionDep
from app.models import Policy
from app.schemas import PolicyIn

router = APIRouter(tags=["policies"])


def public(p: Policy) -> dict[str, Any]:
    body = p.model_dump(exclude={"id", "org_id"})
    return {"policy_id": p.id, **body}


@router.post("/policies", status_code=201)
def create(
    org_id: OrgId, body: PolicyIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    return public(policies.create(session, org_id=org_id, body=data, actor=admin.id))


@router.get("/policies")
def list_all(org_id: OrgId, session: SessionDep, _admin: CurrentAdmin) -> dict[str, Any]:
    return {"policies": [public(p) for p in policies.list_policies(session, org_id=org_id)]}


@router.get("/policies/{policy_id}")
def get_one(
    org_id: OrgId, policy_id: str, session: SessionDep, _admin: CurrentAdmin
) -> dict[str, Any]:
    return public(policies.get(session, org_id=org_id, policy_id=policy_id))


@router.put("/policies/{policy_id}")
def replace(
    org_id: OrgId, policy_id: str, body: PolicyIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    return public(
        policies.replace(session, org_id=org_id, policy_id=policy_id, body=data, actor=admin.id)
    )


@router.delete("/policies/{policy_id}", status_code=204)
def delete(org_id: OrgId, policy_id: str, session: SessionDep, admin: CurrentAdmin) -> Response:
    policies.delete(session, org_id=org_id, policy_id=policy_id, actor=admin.id)
    return Response(status_code=204)

"""Approver routes (admin token)."""

from typing import Any

from fastapi import APIRouter

from app.api.deps import CurrentAdmin, OrgId, SessionDep
from app.schemas import ApproverIn
from app.services import approvers

router = APIRouter(tags=["approvers"])


@router.post("/approvers", status_code=201)
def create(
    org_id: OrgId, body: ApproverIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    created = approvers.create(session, org_id=org_id, actor=admin.id, **body.model_dump())
    return {**approvers.public(created.approver), "api_token": created.api_token}


@router.get("/approvers")
def list_all(org_id: OrgId, session: SessionDep, _admin: CurrentAdmin) -> dict[str, Any]:
    return {
        "approvers": [approvers.public(a) for a in approvers.list_approvers(session, org_id=org_id)]
    }

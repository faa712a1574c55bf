"""Approver routes (admin token): add, list, read, change, disable, delete, rotate the token."""

from typing import Any

from fastapi import APIRouter

from app.approvers import lifecycle
from app.approvers import service as approvers
from app.approvers.schemas import ApproverIn, ApproverPatch
from app.http.deps import ADMIN_ONLY, CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Paging

router = APIRouter(tags=["approvers"], dependencies=[ADMIN_ONLY])


@router.post("/approvers", status_code=201)
def create(
    org_id: OrgId, body: ApproverIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    created = approvers.create(session, org_id=org_id, actor=admin.id, **body.model_dump())
    return {**approvers.public(created.approver), "api_token": created.api_token}


@router.get("/approvers")
def list_all(org_id: OrgId, session: SessionDep, paging: Paging) -> dict[str, Any]:
    rows = approvers.list_approvers(session, org_id=org_id)
    return paging.page(rows, key=lambda a: a.id, render=approvers.public)


@router.get("/approvers/{approver_id}")
def read(org_id: OrgId, approver_id: str, session: SessionDep) -> dict[str, Any]:
    return approvers.public(lifecycle.get(session, org_id=org_id, approver_id=approver_id))


def _changed(changed: lifecycle.Changed) -> dict[str, Any]:
    return {**approvers.public(changed.approver), "warnings": changed.warnings}


@router.patch("/approvers/{approver_id}")
def change(
    org_id: OrgId, approver_id: str, body: ApproverPatch, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return _changed(
        lifecycle.update(
            session, org_id=org_id, approver_id=approver_id, changes=changes, actor=admin.id
        )
    )


@router.delete("/approvers/{approver_id}")
def delete(
    org_id: OrgId, approver_id: str, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    """Soft delete: answers the kept row (status `deleted`) and any policy left short."""
    return _changed(
        lifecycle.delete(session, org_id=org_id, approver_id=approver_id, actor=admin.id)
    )


@router.post("/approvers/{approver_id}/rotate-token")
def rotate_token(
    org_id: OrgId, approver_id: str, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    rotated = lifecycle.rotate_token(
        session, org_id=org_id, approver_id=approver_id, actor=admin.id
    )
    return {**approvers.public(rotated.approver), "api_token": rotated.api_token}

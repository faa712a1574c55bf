"""The org's permission catalog (admins write it; the Ask API reads it)."""

from typing import Any

from fastapi import APIRouter

from app.authz import catalog as permissions
from app.authz import catalog_admin
from app.authz.schemas import PermissionIn
from app.http.deps import ADMIN_ONLY, CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Paging

router = APIRouter(tags=["permissions"], dependencies=[ADMIN_ONLY])


@router.post("/permissions", status_code=201)
def upsert(
    org_id: OrgId, body: PermissionIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    row = catalog_admin.define(
        session,
        org_id=org_id,
        actor=admin.id,
        permission=body.permission,
        description=body.description,
        synonyms=body.synonyms,
    )
    return catalog_admin.public(row)


@router.get("/permissions")
def list_catalog(org_id: OrgId, session: SessionDep, paging: Paging) -> dict[str, Any]:
    rows = permissions.catalog(session, org_id=org_id)
    return paging.page(rows, key=lambda r: r.permission, render=catalog_admin.public)

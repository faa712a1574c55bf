"""The org's permission catalog (admins write it; the Ask API reads it)."""

from typing import Any

from fastapi import APIRouter

from app.audit import service as audit
from app.authz import catalog as permissions
from app.authz.routes.ask import invalidate_catalog
from app.http.deps import CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Cursor, Limit, page
from app.schemas import PermissionIn

router = APIRouter(tags=["permissions"])


def _public(row: Any) -> dict[str, Any]:
    return {
        "permission": row.permission,
        "description": row.description,
        "synonyms": row.synonyms,
        "source": row.source,
    }


@router.post("/permissions", status_code=201)
def upsert(
    org_id: OrgId, body: PermissionIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    row = permissions.upsert(
        session,
        org_id=org_id,
        permission=body.permission,
        description=body.description,
        synonyms=body.synonyms,
    )
    invalidate_catalog(org_id)
    audit.record(
        session,
        audit.EventIn(
            org_id=org_id,
            actor=admin.id,
            action="permission.upsert",
            target=row.permission,
            outcome="success",
        ),
    )
    return _public(row)


@router.get("/permissions")
def list_catalog(
    org_id: OrgId,
    session: SessionDep,
    _admin: CurrentAdmin,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    rows = permissions.catalog(session, org_id=org_id)
    return page(rows, limit=limit, cursor=cursor, key=lambda r: r.permission, render=_public)

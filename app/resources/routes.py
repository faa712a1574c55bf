"""Resource routes: the admin registry and each resource's public RFC 9728 document."""

from typing import Any

from fastapi import APIRouter, Response

from app.http.deps import ADMIN_ONLY, CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Paging
from app.resources import service, tool_calls
from app.resources.schemas import ResourceIn, ToolCallIn

router = APIRouter(tags=["resources"], dependencies=[ADMIN_ONLY])
# Unauthenticated discovery, outside /api/v1 like the org's other .well-known documents.
wellknown = APIRouter(tags=["resources"])


@router.post("/resources", status_code=201)
def create(
    org_id: OrgId, body: ResourceIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    row = service.create(session, org_id=org_id, body=body.model_dump(), actor=admin.id)
    return service.public(row)


@router.get("/resources")
def list_all(org_id: OrgId, session: SessionDep, paging: Paging) -> dict[str, Any]:
    rows = service.list_resources(session, org_id=org_id)
    return paging.page(rows, key=lambda r: r.id, render=service.public)


@router.post("/resources/tool-calls", status_code=201)
def report_tool_call(
    org_id: OrgId, body: ToolCallIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    """A protected server's record of one tool call and its outcome (admin token only)."""
    seq = tool_calls.record(session, org_id=org_id, body=body.model_dump(), reporter=admin.id)
    return {"recorded": True, "seq": seq}


@router.get("/resources/{resource_id}")
def get_one(org_id: OrgId, resource_id: str, session: SessionDep) -> dict[str, Any]:
    return service.public(service.get(session, org_id=org_id, resource_id=resource_id))


@router.put("/resources/{resource_id}")
def replace(
    org_id: OrgId, resource_id: str, body: ResourceIn, session: SessionDep, admin: CurrentAdmin
) -> dict[str, Any]:
    row = service.replace(
        session, org_id=org_id, resource_id=resource_id, body=body.model_dump(), actor=admin.id
    )
    return service.public(row)


@router.delete("/resources/{resource_id}", status_code=204)
def delete(org_id: OrgId, resource_id: str, session: SessionDep, admin: CurrentAdmin) -> Response:
    service.delete(session, org_id=org_id, resource_id=resource_id, actor=admin.id)
    return Response(status_code=204)


@wellknown.get("/orgs/{org_id}/.well-known/oauth-protected-resource/resources/{resource_id}")
def protected_resource_metadata(
    org_id: OrgId, resource_id: str, session: SessionDep
) -> dict[str, Any]:
    return service.metadata(service.get(session, org_id=org_id, resource_id=resource_id))

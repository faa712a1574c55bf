"""Admin page for the org's protected resources (MCP servers and APIs tokens may be bound to).

The form is read into the API's own body (app/resources/schemas.py) and handed to the same
service as POST /resources; a refusal shows the API's error text next to the field at fault.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.admin.forms import FieldError, PageForm, body_of, optional
from app.admin.pages import FormPage
from app.admin.session import AdminUser, PostingAdmin
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.resources import service as resources
from app.resources.schemas import ResourceIn

router = APIRouter(route_class=DashboardRoute)
# "tool name …" and "tools.x must be a dotted name" are about the tools box, not the name.
ALIASES = {"tool name": "tools", "tools.": "tools", "registered already": "resource_uri"}


def tool_map(raw: str) -> dict[str, str]:
    """Tools typed one per line as `tool = permission` (or `tool: permission`)."""
    tools: dict[str, str] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        tool, sep, permission = line.replace(":", "=", 1).partition("=")
        if not sep or not tool.strip() or not permission.strip():
            raise FieldError("tools", f"tools, line {number}: write one `tool = permission`")
        tools[tool.strip()] = permission.strip()
    return tools


class ResourceForm(PageForm):
    name: str = ""
    resource_uri: str = ""
    kind: str = "mcp"
    tools: str = ""
    default_permission: str = ""


def _resources(session: Session, user: AdminUser) -> dict[str, Any]:
    rows = resources.list_resources(session, org_id=user.org_id)
    return {"resources": [resources.public(r) for r in rows], "kinds": resources.KINDS}


RESOURCES = FormPage("resources", _resources, blank=ResourceForm().model_dump())
RESOURCES.serve(router)


@router.post("/resources")
def add_resource(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    typed: Annotated[ResourceForm, Form()],
) -> Response:
    def call() -> bool:
        data = {
            "name": typed.name.strip(),
            "resource_uri": typed.resource_uri.strip(),
            "kind": typed.kind,
            "tools": tool_map(typed.tools),
            "default_permission": optional(typed.default_permission),
        }
        body = body_of(ResourceIn, data)
        resources.create(session, org_id=user.org_id, body=body.model_dump(), actor=user.token.id)
        return True

    return RESOURCES.submit(request, session, user, typed.state(), call, aliases=ALIASES)


@router.post("/resources/{resource_id}/delete")
def delete_resource(resource_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    resources.delete(session, org_id=user.org_id, resource_id=resource_id[:64], actor=user.token.id)
    return see_other(RESOURCES.path)

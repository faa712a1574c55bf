"""Admin page for the org's protected resources (MCP servers and APIs tokens may be bound to).

The form is read into the API's own body (app/resources/schemas.py) and handed to the same
service as POST /resources; a refusal shows the API's error text next to the field at fault.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import FieldError, FormState, attempt, body_of, optional
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.resources import service as resources
from app.resources.schemas import ResourceIn

router = APIRouter(route_class=DashboardRoute)
TextField = Annotated[str, Form()]
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


def _resources_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows = resources.list_resources(session, org_id=user.org_id)
    context = {
        "page": "resources",
        "resources": [resources.public(r) for r in rows],
        "kinds": resources.KINDS,
        "form": form or FormState(values={"kind": "mcp"}),
    }
    return views.render(request, "admin_resources.html", context, user=user, status=status)


@router.get("/resources")
def resources_page(request: Request, session: SessionDep, user: CurrentAdminUser) -> HTMLResponse:
    return _resources_page(request, session, user)


@router.post("/resources")
def add_resource(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    name: TextField = "",
    resource_uri: TextField = "",
    kind: TextField = "mcp",
    tools: TextField = "",
    default_permission: TextField = "",
) -> Response:
    form = FormState(
        values={
            "name": name,
            "resource_uri": resource_uri,
            "kind": kind,
            "tools": tools,
            "default_permission": default_permission,
        }
    )

    def call() -> bool:
        data = {
            "name": name.strip(),
            "resource_uri": resource_uri.strip(),
            "kind": kind,
            "tools": tool_map(tools),
            "default_permission": optional(default_permission),
        }
        body = body_of(ResourceIn, data)
        resources.create(session, org_id=user.org_id, body=body.model_dump(), actor=user.token.id)
        return True

    if attempt(session, form, call, ALIASES) is None:
        return _resources_page(request, session, user, form=form, status=422)
    return see_other("/admin/resources")


@router.post("/resources/{resource_id}/delete")
def delete_resource(resource_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    resources.delete(session, org_id=user.org_id, resource_id=resource_id[:64], actor=user.token.id)
    return see_other("/admin/resources")

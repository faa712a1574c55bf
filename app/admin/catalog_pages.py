"""Admin page for the permission catalog: define a permission, its description and synonyms."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.admin.forms import FormState, PageForm, body_of, optional
from app.admin.pages import FormPage
from app.admin.session import AdminUser, PostingAdmin
from app.authz import catalog as permissions
from app.authz import catalog_admin
from app.authz.schemas import PermissionIn
from app.dashboard.pages import DashboardRoute
from app.http.deps import SessionDep

router = APIRouter(route_class=DashboardRoute)


class PermissionForm(PageForm):
    permission: str = ""
    description: str = ""
    synonyms: str = ""


def _catalog(session: Session, user: AdminUser) -> dict[str, Any]:
    # The ask box (app/admin/insight.py) shows its own form and answer in place of this one.
    return {"catalog": permissions.catalog(session, org_id=user.org_id), "ask_form": FormState()}


CATALOG = FormPage("catalog", _catalog)
CATALOG.serve(router)


@router.post("/catalog")
def save_permission(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    typed: Annotated[PermissionForm, Form()],
) -> Response:
    phrases = [s.strip() for s in typed.synonyms.splitlines() if s.strip()]

    def call() -> bool:
        body = body_of(
            PermissionIn,
            {
                "permission": typed.permission.strip(),
                "description": optional(typed.description),
                "synonyms": phrases,
            },
        )
        catalog_admin.define(
            session,
            org_id=user.org_id,
            actor=user.token.id,
            permission=body.permission,
            description=body.description,
            synonyms=body.synonyms,
        )
        return True

    return CATALOG.submit(request, session, user, typed.state(), call)

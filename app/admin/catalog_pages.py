"""Admin page for the permission catalog: define a permission, its description and synonyms."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import (
    FormState,
    TextField,
    attempt,
    body_of,
    optional,
)
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.authz import catalog as permissions
from app.authz import catalog_admin
from app.authz.schemas import PermissionIn
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep

router = APIRouter(route_class=DashboardRoute)


def render_catalog(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    status: int = 200,
    extra: dict | None = None,
) -> HTMLResponse:
    context = {
        "ask_form": FormState(),
        **(extra or {}),
        "page": "catalog",
        "catalog": permissions.catalog(session, org_id=user.org_id),
        "form": form or FormState(),
    }
    return views.render(request, "admin_catalog.html", context, user=user, status=status)


@router.get("/catalog")
def catalog_page(request: Request, session: SessionDep, user: CurrentAdminUser) -> HTMLResponse:
    return render_catalog(request, session, user)


@router.post("/catalog")
def save_permission(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    permission: TextField = "",
    description: TextField = "",
    synonyms: TextField = "",
) -> Response:
    form = FormState(
        values={"permission": permission, "description": description, "synonyms": synonyms}
    )
    phrases = [s.strip() for s in synonyms.splitlines() if s.strip()]

    def call() -> bool:
        body = body_of(
            PermissionIn,
            {
                "permission": permission.strip(),
                "description": optional(description),
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

    if attempt(session, form, call) is None:
        return render_catalog(request, session, user, form=form, status=422)
    return see_other("/admin/catalog")

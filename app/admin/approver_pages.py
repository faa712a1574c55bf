"""Admin pages for approvers: add (the token shown once), disable, rotate the token."""

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
    words,
)
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.approvers import lifecycle
from app.approvers import service as approver_service
from app.approvers.schemas import ApproverIn
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep

router = APIRouter(route_class=DashboardRoute)


def _approvers_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    issued: approver_service.CreatedApprover | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "page": "approvers",
        "approvers": approver_service.list_approvers(session, org_id=user.org_id),
        "form": form or FormState(),
        "issued": issued,
    }
    return views.render(request, "admin_approvers.html", context, user=user, status=status)


@router.get("/approvers")
def approvers_page(request: Request, session: SessionDep, user: CurrentAdminUser) -> HTMLResponse:
    return _approvers_page(request, session, user)


@router.post("/approvers")
def add_approver(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    email: TextField = "",
    name: TextField = "",
    slack_user_id: TextField = "",
    groups: TextField = "",
) -> HTMLResponse:
    form = FormState(
        values={"email": email, "name": name, "slack_user_id": slack_user_id, "groups": groups}
    )

    def call() -> approver_service.CreatedApprover:
        body = body_of(
            ApproverIn,
            {
                "email": email.strip(),
                "name": optional(name),
                "slack_user_id": optional(slack_user_id),
                "groups": words(groups),
            },
        )
        return approver_service.create(
            session, org_id=user.org_id, actor=user.token.id, **body.model_dump()
        )

    issued = attempt(session, form, call)
    if issued is None:
        return _approvers_page(request, session, user, form=form, status=422)
    return _approvers_page(request, session, user, issued=issued, status=201)


@router.post("/approvers/{approver_id}/status")
def approver_status(
    approver_id: str, session: SessionDep, user: PostingAdmin, status: TextField = ""
) -> Response:
    lifecycle.update(
        session,
        org_id=user.org_id,
        approver_id=approver_id[:64],
        changes={"status": status},
        actor=user.token.id,
    )
    return see_other("/admin/approvers")


@router.post("/approvers/{approver_id}/rotate")
def rotate_approver(
    request: Request, approver_id: str, session: SessionDep, user: PostingAdmin
) -> HTMLResponse:
    issued = lifecycle.rotate_token(
        session, org_id=user.org_id, approver_id=approver_id[:64], actor=user.token.id
    )
    return _approvers_page(request, session, user, issued=issued)

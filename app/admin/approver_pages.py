"""Admin pages for approvers: add (the token shown once), disable, rotate the token."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin.forms import PageForm, TextField, body_of, optional, words
from app.admin.pages import FormPage
from app.admin.session import AdminUser, PostingAdmin
from app.approvers import lifecycle
from app.approvers import service as approver_service
from app.approvers.schemas import ApproverIn
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep

router = APIRouter(route_class=DashboardRoute)


class ApproverForm(PageForm):
    email: str = ""
    name: str = ""
    slack_user_id: str = ""
    groups: str = ""


def _approvers(session: Session, user: AdminUser) -> dict[str, Any]:
    return {"approvers": approver_service.list_approvers(session, org_id=user.org_id)}


APPROVERS = FormPage("approvers", _approvers)
APPROVERS.serve(router)


@router.post("/approvers")
def add_approver(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    typed: Annotated[ApproverForm, Form()],
) -> Response:
    def call() -> approver_service.CreatedApprover:
        body = body_of(
            ApproverIn,
            {
                "email": typed.email.strip(),
                "name": optional(typed.name),
                "slack_user_id": optional(typed.slack_user_id),
                "groups": words(typed.groups),
            },
        )
        return approver_service.create(
            session, org_id=user.org_id, actor=user.token.id, **body.model_dump()
        )

    return APPROVERS.submit(request, session, user, typed.state(), call, shown_once=True)


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
    return see_other(APPROVERS.path)


@router.post("/approvers/{approver_id}/rotate")
def rotate_approver(
    request: Request, approver_id: str, session: SessionDep, user: PostingAdmin
) -> HTMLResponse:
    issued = lifecycle.rotate_token(
        session, org_id=user.org_id, approver_id=approver_id[:64], actor=user.token.id
    )
    return APPROVERS.render(request, session, user, issued=issued)

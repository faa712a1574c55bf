"""Admin page for the org's admin tokens: create one (shown once), revoke one."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.admin.forms import PageForm
from app.admin.pages import FormPage
from app.admin.session import AdminUser, PostingAdmin
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.identity import orgs
from app.models import AdminToken

router = APIRouter(route_class=DashboardRoute)


class TokenForm(PageForm):
    label: str = ""
    email: str = ""


def _tokens(session: Session, user: AdminUser) -> dict[str, Any]:
    stmt = select(AdminToken).where(AdminToken.org_id == user.org_id)
    return {"tokens": session.exec(stmt.order_by(col(AdminToken.created_at))).all()}


TOKENS = FormPage("tokens", _tokens)
TOKENS.serve(router)


@router.post("/tokens")
def create_token(
    request: Request, session: SessionDep, user: PostingAdmin, typed: Annotated[TokenForm, Form()]
) -> Response:
    def call() -> orgs.IssuedAdminToken:
        return orgs.create_admin_token(
            session,
            org_id=user.org_id,
            label=typed.label.strip(),
            actor=user.token.id,
            email=typed.email.strip() or None,
        )

    return TOKENS.submit(request, session, user, typed.state(), call, shown_once=True)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    orgs.revoke_admin_token(
        session, org_id=user.org_id, token_id=token_id[:64], actor=user.token.id
    )
    return see_other(TOKENS.path)

"""The emailed sign-in link's routes: ask for a link, see whom it signs in, use it once."""

import logging
from email.message import EmailMessage

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.admin import login_link, signin, views
from app.admin.forms import TextField
from app.dashboard.door import FORM_EXPIRED_TEXT
from app.dashboard.pages import DashboardRoute, Problem
from app.http.deps import SessionDep
from app.http.throttle import ClientAddressLimit

log = logging.getLogger(__name__)

router = APIRouter(route_class=DashboardRoute)
DEAD_LINK = ("This sign-in link does not work", "It has expired or is not valid: ask again.")


def _messages(session: Session, email: str) -> list[EmailMessage]:
    try:
        return login_link.messages_for(session, email[:400])
    except Exception as exc:  # noqa: BLE001 - the same answer for every address, always
        log.warning("could not prepare admin sign-in links: %s", type(exc).__name__)
        return []


signin.DOOR.serve_email_links(router, _messages, dependencies=[ClientAddressLimit])


@router.get("/login/link/{token}")
def link_page(request: Request, token: str, session: SessionDep) -> Response:
    """Show whom the link signs in; change nothing (mail scanners open links)."""
    claims = login_link.read_token(token)
    admin = login_link.admin_for(session, claims) if claims else None
    if admin is None:
        raise Problem(410, *DEAD_LINK)
    org_name = views.org_name(session, admin.org_id)
    return signin.link_page(request, admin=admin, org_name=org_name, token=token)


@router.post("/login/link/{token}", dependencies=[ClientAddressLimit])
def link_sign_in(
    request: Request, token: str, session: SessionDep, login_csrf: TextField = ""
) -> Response:
    if not signin.form_checked(request, login_csrf):
        return signin.login_page(request, error=FORM_EXPIRED_TEXT, status=403)
    claims = login_link.read_token(token)
    admin = login_link.admin_for(session, claims) if claims else None
    if claims is None or admin is None:
        raise Problem(410, *DEAD_LINK)
    if not login_link.use_once(claims):
        raise Problem(409, "This link was already used", "Ask for a new one on the sign-in page.")
    return signin.signed_in(session, admin, "email-link")

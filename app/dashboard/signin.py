"""Signing in to the dashboard: an approver token or an emailed link, on the sign-in door the
admin portal shares (app/dashboard/door.py). Every successful sign-in is an audit event.
"""

from email.message import EmailMessage
from typing import Any

from fastapi import Request, Response
from sqlmodel import Session, select

from app.approvers.service import ACTIVE
from app.audit import service as audit
from app.core.secrets import APPROVER_TOKEN_PREFIX, constant_time_equal, hash_token
from app.dashboard import login_link
from app.dashboard import session as sessions
from app.dashboard.door import SignInDoor
from app.dashboard.pages import CHANNEL, Problem, render, safe_next
from app.models import Approver, Org

DOOR = SignInDoor(
    cookie=sessions.COOKIE,
    login_cookie=sessions.LOGIN_COOKIE,
    path="/dashboard",
    session_seconds=sessions.SESSION_SECONDS,
    render=render,
    login_template="dashboard_login.html",
    link_template="dashboard_login_link.html",
    token_name="approver",
)
form_checked = DOOR.form_checked


def login_page(request: Request, *, next_url: str = "", **shown: Any) -> Response:
    """The sign-in page; after it, on to `next_url` (a dashboard page) or the pending list."""
    return DOOR.login_page(request, next=safe_next(next_url), **shown)


def link_page(request: Request, approver: Approver, token: str) -> Response:
    return DOOR.link_page(request, approver=approver, token=token)


def signed_in(session: Session, approver: Approver, next_url: str, how: str) -> Response:
    """Open a session for the approver: the cookie, an audit event, and on to the next page."""
    state = sessions.new_session(
        approver_id=approver.id, org_id=approver.org_id, token_hash=approver.token_hash
    )
    details = {"channel": CHANNEL, "with": how}
    audit.record_success(session, approver.org_id, approver.id, "dashboard.login", details=details)
    return DOOR.open(sessions.encode(state), safe_next(next_url))


def approver_for_token(session: Session, token: str) -> Approver | None:
    token = token.strip()
    if not token.startswith(APPROVER_TOKEN_PREFIX) or len(token) > 200:
        return None
    stmt = select(Approver).where(
        Approver.token_hash == hash_token(token), Approver.status == ACTIVE
    )
    return session.exec(stmt).first()


def _org_name(session: Session, org_id: str) -> str:
    org = session.get(Org, org_id)
    return org.name if org else org_id


def link_messages(session: Session, email: str) -> list[EmailMessage]:
    """One sign-in link per org where the address is an approver (none when rate limited)."""
    address = email.strip().lower()
    if not (3 <= len(address) <= 320 and "@" in address) or not login_link.may_send_to(address):
        return []
    stmt = select(Approver).where(Approver.email == address, Approver.status == ACTIVE)
    approvers = session.exec(stmt).all()
    return [
        login_link.message(a, _org_name(session, a.org_id), login_link.make_token(a))
        for a in approvers
    ]


def link_approver(session: Session, token: str) -> tuple[login_link.LinkClaims, Approver]:
    claims = login_link.read_token(token)
    approver = session.get(Approver, claims.approver) if claims else None
    if (
        claims is None
        or approver is None
        or approver.org_id != claims.org
        or approver.status != ACTIVE
        or not constant_time_equal(sessions.token_fingerprint(approver.token_hash), claims.tok)
    ):
        raise Problem(
            410, "This sign-in link does not work", "It has expired or is not valid: ask again."
        )
    return claims, approver

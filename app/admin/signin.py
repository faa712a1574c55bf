"""Signing in to the portal: by admin token or emailed link, on the sign-in door the approvers'
dashboard shares (app/dashboard/door.py). Every successful sign-in is an audit event naming how
it was made.
"""

from fastapi.responses import Response
from sqlmodel import Session

from app.admin import session as admin_sessions
from app.admin import views
from app.audit import service as audit
from app.dashboard.door import SignInDoor
from app.models import AdminToken

DOOR = SignInDoor(
    cookie=admin_sessions.COOKIE,
    login_cookie=admin_sessions.LOGIN_COOKIE,
    path=admin_sessions.PATH,
    session_seconds=admin_sessions.SESSION_SECONDS,
    render=views.render,
    login_template="admin_login.html",
    link_template="admin_login_link.html",
    token_name="admin",
)
login_page, link_page, form_checked = DOOR.login_page, DOOR.link_page, DOOR.form_checked


def signed_in(session: Session, admin: AdminToken, how: str) -> Response:
    """Open a session for the admin token: the cookie, an audit event, on to the overview."""
    state = admin_sessions.new_session(admin)
    details = {"channel": "admin-portal", "with": how}
    audit.record_success(session, admin.org_id, admin.id, "admin.login", details=details)
    return DOOR.open(admin_sessions.encode(state), "/admin/overview")

"""Signing in to the portal: the sign-in page and the session cookie, by token or emailed link.

The sign-in forms carry a nonce that must match a SameSite=Strict cookie (there is no session
yet to hold a CSRF token). Every successful sign-in is an audit event naming how it was made.
"""

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from app.admin import login_link, views
from app.admin import session as admin_sessions
from app.audit import service as audit
from app.dashboard import session as shared
from app.dashboard.pages import check_origin, see_other
from app.models import AdminToken

FORM_EXPIRED_TEXT = "The sign-in form expired. Please try again."
LINK_NOTICE = "If that address belongs to an admin, a sign-in link is on its way."


def _with_nonce(response: Response, nonce: str) -> Response:
    response.set_cookie(
        admin_sessions.LOGIN_COOKIE,
        nonce,
        **admin_sessions.cookie_options(shared.LOGIN_FORM_SECONDS),
    )
    return response


def login_page(
    request: Request, *, error: str = "", notice: str = "", status: int = 200
) -> Response:
    nonce = shared.new_login_nonce()
    context = {
        "login_csrf": nonce,
        "error": error,
        "notice": notice,
        "email_enabled": login_link.enabled(),
    }
    return _with_nonce(views.render(request, "admin_login.html", context, status=status), nonce)


def link_page(request: Request, admin: AdminToken, org_name: str, token: str) -> Response:
    nonce = shared.new_login_nonce()
    context = {"login_csrf": nonce, "admin": admin, "org_name": org_name, "token": token}
    return _with_nonce(views.render(request, "admin_login_link.html", context), nonce)


def form_checked(request: Request, login_csrf: str) -> bool:
    check_origin(request)
    cookie = request.cookies.get(admin_sessions.LOGIN_COOKIE)
    return shared.login_nonce_matches(cookie, login_csrf)


def signed_in(session: Session, admin: AdminToken, how: str) -> Response:
    """Open a session for the admin token: the cookie, an audit event, on to the overview."""
    state = admin_sessions.new_session(admin)
    details = {"channel": "admin-portal", "with": how}
    audit.record_success(session, admin.org_id, admin.id, "admin.login", details=details)
    response = see_other("/admin/overview")
    response.set_cookie(
        admin_sessions.COOKIE,
        admin_sessions.encode(state),
        **admin_sessions.cookie_options(admin_sessions.SESSION_SECONDS),
    )
    response.delete_cookie(admin_sessions.LOGIN_COOKIE, path=admin_sessions.PATH)
    return response

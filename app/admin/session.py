"""Admin portal sessions: a signed cookie naming the admin token, with its CSRF token.

The signing, the CSRF comparison, the sign-in nonce, the cookie attributes and the durable
sign-out are the dashboard's (app/dashboard/session.py); only what the cookie names differs.
The cookie holds {admin, org, exp, csrf, sid}: `admin` is the admin token's id, looked up on
every request, so revoking the token ends every session opened with it.
"""

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlmodel import Session

from app.core.db import read_session
from app.core.durable_store import durable_store
from app.core.secrets import constant_time_equal
from app.dashboard import session as shared
from app.dashboard.pages import FORM_EXPIRED, LoginRequired, Problem, check_origin
from app.models import AdminToken

COOKIE = "jitgate_admin"
LOGIN_COOKIE = "jitgate_admin_login"
PATH = "/admin"
LOGIN_PATH = "/admin/login"
PURPOSE = "admin-session"
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class AdminSession:
    admin: str
    org: str
    exp: int
    csrf: str
    sid: str


@dataclass(frozen=True)
class AdminUser:
    """Who is signed in: the admin token's row (its org is the org this portal shows)."""

    token: AdminToken
    state: AdminSession

    @property
    def org_id(self) -> str:
        return self.token.org_id


def new_session(token: AdminToken, now: float | None = None) -> AdminSession:
    issued = int(now if now is not None else time.time())
    return AdminSession(
        admin=token.id,
        org=token.org_id,
        exp=issued + SESSION_SECONDS,
        csrf=secrets.token_urlsafe(24),
        sid=secrets.token_urlsafe(12),
    )


def encode(state: AdminSession) -> str:
    return shared.sign_payload(PURPOSE, asdict(state))


def _logout_key(sid: str) -> str:
    return f"admin-logout:{sid}"


def decode(cookie: str | None, *, now: float | None = None) -> AdminSession | None:
    """The session a cookie carries, or None when missing, altered, expired or signed out."""
    state = shared.read_unexpired(PURPOSE, cookie, AdminSession, now)
    return None if state is None or durable_store.exists(_logout_key(state.sid)) else state


def log_out(state: AdminSession) -> None:
    shared.end_durably(_logout_key(state.sid), state.exp)


def token_holds(state: AdminSession, token: AdminToken | None) -> bool:
    """The admin token still exists in the session's org and is not revoked."""
    return token is not None and token.org_id == state.org and token.revoked_at is None


def current_admin_user(request: Request) -> AdminUser:
    state = decode(request.cookies.get(COOKIE))
    # A read session, not the request's: a first query on the write session takes SQLite's write
    # lock, and a page that then fetches a jwks_uri would hold it for every org (review 2, M1).
    with read_session() as session:
        token = _token(session, state.admin) if state is not None else None
    if state is None or not token_holds(state, token):
        raise LoginRequired(LOGIN_PATH)
    assert token is not None
    return AdminUser(token=token, state=state)


def _token(session: Session, token_id: object) -> AdminToken | None:
    return session.get(AdminToken, token_id) if isinstance(token_id, str) else None


CurrentAdminUser = Annotated[AdminUser, Depends(current_admin_user)]


def posting_admin(
    request: Request, user: CurrentAdminUser, csrf_token: Annotated[str, Form()] = ""
) -> AdminUser:
    """A signed-in admin whose form carries this session's CSRF token (constant time)."""
    check_origin(request)
    if not csrf_token or not constant_time_equal(user.state.csrf, csrf_token):
        raise Problem(403, *FORM_EXPIRED)
    return user


PostingAdmin = Annotated[AdminUser, Depends(posting_admin)]

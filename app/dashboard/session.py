"""Dashboard sessions: a signed cookie naming the approver, plus its CSRF token.

The cookie holds `base64url(json).signature`, where the JSON is {approver, org, exp, csrf, sid,
tok} and the signature is an HMAC (purpose "dashboard-session"). Nothing is stored server-side
except the ids of sessions that logged out (in the shared key-value store, until they would
have expired anyway; recorded in the database too in embedded mode, so a restart keeps them). `tok` is a fingerprint of the approver's token hash, so issuing the
approver a new token ends every session opened with the old one.
"""

import base64
import binascii
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from app.approvers.service import ACTIVE
from app.core import events
from app.core.durable_store import durable_store
from app.core.secrets import constant_time_equal, sign_value, verify_signed_value
from app.models import Approver
from app.settings import get_settings

COOKIE = "jitgate_dashboard"
LOGIN_COOKIE = "jitgate_dashboard_login"
PURPOSE = "dashboard-session"
SESSION_SECONDS = 12 * 3600
LOGIN_FORM_SECONDS = 3600
MAX_COOKIE_CHARS = 2048
T = TypeVar("T")


@dataclass(frozen=True)
class SessionState:
    approver: str
    org: str
    exp: int
    csrf: str
    sid: str
    tok: str

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.exp


def token_fingerprint(token_hash: str) -> str:
    return sign_value("dashboard-token", token_hash)[:22]


def new_session(
    *, approver_id: str, org_id: str, token_hash: str, now: float | None = None
) -> SessionState:
    issued = int(now if now is not None else time.time())
    return SessionState(
        approver=approver_id,
        org=org_id,
        exp=issued + SESSION_SECONDS,
        csrf=secrets.token_urlsafe(24),
        sid=secrets.token_urlsafe(12),
        tok=token_fingerprint(token_hash),
    )


def sign_payload(purpose: str, data: dict) -> str:
    """`base64url(json).hmac`: readable by anyone, alterable by no one without the secret."""
    body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{payload}.{sign_value(purpose, payload)}"


def read_unexpired(purpose: str, signed: str | None, shape: type[T], now: float | None) -> T | None:
    """What sign_payload signed for this purpose, as `shape` (a dataclass with an int `exp`:
    a session or a sign-in link), when it is genuine and unexpired; None for anything else."""
    data = read_payload(purpose, signed)
    try:
        value = shape(**data) if data is not None else None
    except TypeError:
        return None
    exp = getattr(value, "exp", None)
    if not isinstance(exp, int) or (now if now is not None else time.time()) >= exp:
        return None
    return value


def read_payload(purpose: str, signed: str | None) -> dict | None:
    """The JSON object sign_payload wrote for this purpose, or None for anything else."""
    if not signed or len(signed) > MAX_COOKIE_CHARS or signed.count(".") != 1:
        return None
    payload, signature = signed.split(".")
    if not verify_signed_value(purpose, payload, signature):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class LinkTokens(Generic[T]):
    """A portal's emailed sign-in links: signed claims (`claims`, a dataclass) of whom a link
    signs in (its id and org), until when (`seconds` after it is made), a nonce (a link works
    once) and a fingerprint of the holder's token (a link for a token since replaced fails)."""

    purpose: str
    claims: type[T]
    seconds: int

    def make(self, token_hash: str, *, now: float | None = None, **holder: str) -> str:
        return sign_payload(
            self.purpose,
            {
                **holder,
                "exp": int(now if now is not None else time.time()) + self.seconds,
                "nonce": secrets.token_urlsafe(16),
                "tok": token_fingerprint(token_hash),
            },
        )

    def read(self, token: str, *, now: float | None = None) -> T | None:
        """The claims of a genuine, unexpired link (used or not); None for anything else."""
        return read_unexpired(self.purpose, token, self.claims, now)


def encode(state: SessionState) -> str:
    return sign_payload(PURPOSE, asdict(state))


def decode(cookie: str | None, *, now: float | None = None) -> SessionState | None:
    """The session a cookie carries, or None when it is missing, altered, expired or logged out."""
    state = read_unexpired(PURPOSE, cookie, SessionState, now)
    return None if state is None or is_logged_out(state) else state


def approver_holds(state: SessionState, approver: Approver | None) -> bool:
    """The session's approver still exists in its org, is active, and holds the token the
    session was opened with: disabling, deleting or re-tokening an approver ends its sessions."""
    return (
        approver is not None
        and approver.org_id == state.org
        and approver.status == ACTIVE
        and constant_time_equal(token_fingerprint(approver.token_hash), state.tok)
    )


def csrf_matches(state: SessionState, submitted: str | None) -> bool:
    """The per-session CSRF token, compared in constant time."""
    return bool(submitted) and constant_time_equal(state.csrf, submitted or "")


def _logout_key(state: SessionState) -> str:
    return f"dashboard-logout:{state.sid}"


def session_topic(state: SessionState) -> str:
    """Where the session's open WebSockets hear that it ended (app/dashboard/live.py)."""
    return f"dashboard-session:{state.sid}"


def end_durably(key: str, exp: int) -> None:
    """Remember an ended session's key (durably) until its cookie would have expired anyway."""
    durable_store.put(key, max(int(exp - time.time()), 1))


def log_out(state: SessionState) -> None:
    """End the session for good, and tell its open WebSockets, in whichever web process they
    are, to close now."""
    end_durably(_logout_key(state), state.exp)
    events.publish(session_topic(state), {"type": "session.ended"})


def is_logged_out(state: SessionState) -> bool:
    return durable_store.exists(_logout_key(state))


# The login form has no session yet: its CSRF token is a random nonce that must come back
# both in a SameSite=Strict cookie and in the form (a cross-site page can set neither).
def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_nonce_matches(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie) and bool(submitted) and constant_time_equal(cookie or "", submitted or "")


def public_origin() -> str:
    parts = urlsplit(get_settings().public_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def secure_cookies() -> bool:
    return get_settings().public_url.lower().startswith("https://")


def cookie_options(max_age: int, *, path: str = "/dashboard") -> dict:
    """The cookie's attributes; the admin portal (app/admin) uses the same ones under /admin."""
    return {
        "max_age": max_age,
        "path": path,
        "httponly": True,
        "samesite": "strict",
        "secure": secure_cookies(),
    }


def origin_allowed(origin: str | None, *, required: bool) -> bool:
    """Browsers send Origin on WebSockets and POSTs; when present it must be our public URL."""
    if origin is None:
        return not required
    return constant_time_equal(origin.rstrip("/").lower(), public_origin())

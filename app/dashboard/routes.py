"""The approvers' dashboard: sign in with an approver token, see pending requests live, decide.

Pages are server-rendered (app/dashboard/templates); a little JavaScript keeps the pending
list current over the WebSocket. Page data lives in app.dashboard.views, sessions and CSRF in
app.dashboard.session, rendering and refusals in app.dashboard.pages.
"""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.approvers import scope as approver_scope
from app.audit.views import Flushed
from app.core.db import undo_on_error
from app.core.errors import JitgateError, NotFound
from app.dashboard import live, login_link, signin, views
from app.dashboard import session as sessions
from app.dashboard.door import FORM_EXPIRED_TEXT
from app.dashboard.pages import (
    CHANNEL,
    HERE,
    CurrentUser,
    DashboardRoute,
    DashboardUser,
    PostingUser,
    Problem,
    read_since,
    render,
    safe_next,
    see_other,
)
from app.http.deps import SessionDep
from app.http.throttle import ClientAddressLimit
from app.jit import state_machine as jit
from app.models import JitRequest

router = APIRouter(prefix="/dashboard", route_class=DashboardRoute, include_in_schema=False)
MAX_NOTE_CHARS = 2000
MAX_FILTER_CHARS = 200
DONE_TEXT = {"approved": "Your approval is recorded.", "denied": "Your denial is recorded."}
STATIC = {
    "dashboard.css": "text/css",
    "dashboard.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}

TextField = Annotated[str, Form()]


@router.get("")
@router.get("/")
def home(request: Request) -> RedirectResponse:
    signed_in = sessions.decode(request.cookies.get(sessions.COOKIE)) is not None
    return see_other("/dashboard/pending" if signed_in else "/dashboard/login")


# --- signing in and out ---------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    if sessions.decode(request.cookies.get(sessions.COOKIE)) is not None:
        return see_other(safe_next(next))
    return signin.login_page(request, next_url=next)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    token: TextField = "",
    login_csrf: TextField = "",
    next: TextField = "",
) -> Response:
    if not signin.form_checked(request, login_csrf):
        return signin.login_page(request, next_url=next, error=FORM_EXPIRED_TEXT, status=403)
    approver = signin.approver_for_token(session, token)
    if approver is None:
        error = "That token is not recognised. Paste the whole jgapr_… approver token."
        return signin.login_page(request, next_url=next, error=error, status=401)
    return signin.signed_in(session, approver, next, "token")


signin.DOOR.serve_email_links(router, signin.link_messages, dependencies=[ClientAddressLimit])


@router.get("/login/link/{token}")
def link_page(request: Request, token: str, session: SessionDep) -> Response:
    """Show whom the link signs in; change nothing (mail scanners open links)."""
    _claims, approver = signin.link_approver(session, token)
    return signin.link_page(request, approver, token)


@router.post("/login/link/{token}", dependencies=[ClientAddressLimit])
def link_sign_in(
    request: Request, token: str, session: SessionDep, login_csrf: TextField = ""
) -> Response:
    if not signin.form_checked(request, login_csrf):
        return signin.login_page(request, error=FORM_EXPIRED_TEXT, status=403)
    claims, approver = signin.link_approver(session, token)
    if not login_link.use_once(claims):
        raise Problem(409, "This link was already used", "Ask for a new one on the sign-in page.")
    return signin.signed_in(session, approver, "", "email-link")


@router.post("/logout")
def logout(user: PostingUser) -> Response:
    sessions.log_out(user.state)
    return signin.DOOR.close("/dashboard/login")


# --- pending requests -----------------------------------------------------------------------


@router.get("/pending")
def pending_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    rows = views.pending_for(session, user.approver)
    return render(
        request, "dashboard_pending.html", {"requests": rows, "page": "pending"}, user=user
    )


@router.get("/fragments/pending")
def pending_fragment(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    rows = views.pending_for(session, user.approver)
    return render(request, "dashboard_pending_list.html", {"requests": rows}, user=user)


# --- one request ----------------------------------------------------------------------------


def _request_row(session: Session, user: DashboardUser, request_id: str) -> JitRequest:
    if len(request_id) > 64:
        raise Problem(404, "No such request", "Check the address.")
    try:
        row = jit.get_request(session, org_id=user.approver.org_id, request_id=request_id)
        approver_scope.ensure_may_see(session, user.approver, row)
    except NotFound as exc:
        raise Problem(404, "No such request", "It does not exist in your organization.") from exc
    return row


def _request_page(
    request: Request,
    session: Session,
    user: DashboardUser,
    request_id: str,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    row = _request_row(session, user, request_id)
    context = {
        "jit": views.request_detail(session, user.approver, row),
        "notice": notice,
        "error": error,
        "note_max": MAX_NOTE_CHARS,
        "page": "request",
    }
    return render(request, "dashboard_request.html", context, user=user, status=status)


@router.get("/requests/{request_id}")
def request_page(
    request: Request, request_id: str, session: SessionDep, user: CurrentUser, done: str = ""
) -> HTMLResponse:
    return _request_page(request, session, user, request_id, notice=DONE_TEXT.get(done, ""))


def _decision(verb: str, note_field: str) -> Callable[..., Response]:
    """The route of one decision (approve, deny), its note posted as `note_field`."""

    def decide(
        request: Request,
        request_id: str,
        session: SessionDep,
        user: PostingUser,
        note: Annotated[str, Form(alias=note_field)] = "",
    ) -> Response:
        return _decide(request, session, user, request_id, verb, note)

    return decide


def _decide(
    request: Request, session: Session, user: DashboardUser, request_id: str, verb: str, note: str
) -> Response:
    _request_row(session, user, request_id)  # a friendly 404 before any rule
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        error = f"Please keep it under {MAX_NOTE_CHARS} characters."
        return _request_page(request, session, user, request_id, error=error, status=422)
    if verb == jit.DENY and not note:
        error = "Say why you deny it: the agent and its owner will see your reason."
        return _request_page(request, session, user, request_id, error=error, status=422)
    try:
        with undo_on_error(session):  # the session would commit after a rendered error page
            jit.decide(
                session,
                request_id=request_id,
                approver=user.approver,
                decision=verb,
                comment=note or None,
                channel=CHANNEL,
            )
    except JitgateError as exc:
        return _request_page(
            request, session, user, request_id, error=exc.description, status=exc.status
        )
    done = "approved" if verb == jit.APPROVE else "denied"
    return see_other(f"/dashboard/requests/{quote(request_id, safe='')}?done={done}")


router.add_api_route(
    "/requests/{request_id}/approve",
    _decision(jit.APPROVE, "comment"),
    methods=["POST"],
    name="approve",
)
router.add_api_route(
    "/requests/{request_id}/deny", _decision(jit.DENY, "reason"), methods=["POST"], name="deny"
)


# --- history and audit ----------------------------------------------------------------------


def _limit(raw: str, default: int) -> int:
    text = raw.strip()  # ASCII digits: "²".isdigit() is true but int() refuses it
    if not (text.isascii() and text.isdecimal() and len(text) <= 18):
        return default
    return min(max(int(text), 1), views.MAX_ROWS)


def _history_filters(
    status: str = "", permission: str = "", agent: str = "", limit: str = ""
) -> views.HistoryFilters:
    """The history page's filters, as its form sends them."""
    return views.HistoryFilters(
        status=status if status in views.HISTORY_STATUSES else "",
        permission=permission.strip()[:MAX_FILTER_CHARS],
        agent=agent.strip()[:MAX_FILTER_CHARS],
        limit=_limit(limit, 50),
    )


def _audit_filters(
    actor: str = "", action: str = "", since: str = "", limit: str = ""
) -> views.AuditFilters:
    """The audit page's filters, as its form sends them."""
    return views.AuditFilters(
        actor=actor.strip()[:MAX_FILTER_CHARS],
        action=action.strip()[:MAX_FILTER_CHARS],
        since=read_since(since),
        limit=_limit(limit, 100),
    )


@router.get("/history")
def history_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[views.HistoryFilters, Depends(_history_filters)],
) -> HTMLResponse:
    rows = views.history(session, user.approver, filters)
    context = {
        "requests": rows,
        "filters": filters,
        "statuses": views.HISTORY_STATUSES,
        "page": "history",
    }
    return render(request, "dashboard_history.html", context, user=user)


@router.get("/audit")
def audit_page(
    _flushed: Flushed,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[views.AuditFilters, Depends(_audit_filters)],
    since: str = "",  # as typed, for the form to show it again
) -> HTMLResponse:
    rows = views.audit_trail(session, user.approver, filters)
    context = {"events": rows, "filters": filters, "since": since.strip(), "page": "audit"}
    return render(request, "dashboard_audit.html", context, user=user)


# --- live updates and static files ----------------------------------------------------------


@router.websocket("/ws")
async def live_updates(websocket: WebSocket) -> None:
    state = await live.authenticate(websocket)
    if state is None:
        await websocket.close(code=live.POLICY_VIOLATION)
        return
    await websocket.accept()
    await live.serve(websocket, state)


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    if name not in STATIC:
        raise Problem(404, "Not found", "There is no such file.")
    return FileResponse(
        HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"}
    )


@router.get("/{anything:path}")
def not_found(anything: str) -> Response:
    raise Problem(404, "Page not found", "There is nothing at this address.")

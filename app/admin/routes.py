"""The admin portal's own pages: sign-in and sign-out, the overview, the audit trail (filters,
paging, export, chain verification) and static files. Agents, approvers, policies, the catalog,
admin tokens, issuers and resources have a pages module each (app/admin/*_pages.py, on
app/admin/pages.FormPage).

Routes use the dashboard's DashboardRoute: a refusal becomes a page, never the API's JSON.
"""

import csv
import io
import json
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlmodel import Session, select

from app.admin import (
    agent_pages,
    approver_pages,
    catalog_pages,
    insight,
    issuer_pages,
    link_routes,
    policy_pages,
    resource_pages,
    signin,
    token_pages,
    views,
)
from app.admin import session as admin_sessions
from app.admin.forms import TextField, whole_number
from app.admin.session import CurrentAdminUser, PostingAdmin
from app.audit import chain_state
from app.audit.views import Flushed, public_event
from app.core.secrets import ADMIN_TOKEN_PREFIX, hash_token
from app.dashboard.door import FORM_EXPIRED_TEXT
from app.dashboard.pages import DashboardRoute, Problem, read_since, see_other
from app.http.deps import SessionDep
from app.models import AdminToken

router = APIRouter(prefix="/admin", route_class=DashboardRoute, include_in_schema=False)
for pages in (
    agent_pages,
    approver_pages,
    policy_pages,
    catalog_pages,
    link_routes,
    insight,
    issuer_pages,
    resource_pages,
    token_pages,
):
    router.include_router(pages.router)
STATIC = {
    "admin.css": "text/css",
    "admin.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
EXPORT_LIMIT = 10_000


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    signed_in = admin_sessions.decode(request.cookies.get(admin_sessions.COOKIE)) is not None
    return see_other("/admin/overview" if signed_in else admin_sessions.LOGIN_PATH)


# --- signing in and out ---------------------------------------------------------------------


def _admin_for_token(session: Session, token: str) -> AdminToken | None:
    token = token.strip()
    if not token.startswith(ADMIN_TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.exec(select(AdminToken).where(AdminToken.token_hash == hash_token(token))).first()
    return row if row is not None and row.revoked_at is None else None


@router.get("/login")
def login_form(request: Request) -> Response:
    return signin.login_page(request)


@router.post("/login")
def login(
    request: Request, session: SessionDep, token: TextField = "", login_csrf: TextField = ""
) -> Response:
    if not signin.form_checked(request, login_csrf):
        return signin.login_page(request, error=FORM_EXPIRED_TEXT, status=403)
    row = _admin_for_token(session, token)
    if row is None:
        error = "That token is not recognised. Paste the whole jgadm_… admin token."
        return signin.login_page(request, error=error, status=401)
    return signin.signed_in(session, row, "token")


@router.post("/logout")
def logout(user: PostingAdmin) -> Response:
    admin_sessions.log_out(user.state)
    return signin.DOOR.close(admin_sessions.LOGIN_PATH)


# --- overview -------------------------------------------------------------------------------


@router.get("/overview")
def overview(
    _flushed: Flushed, request: Request, session: SessionDep, user: CurrentAdminUser
) -> HTMLResponse:
    context = {
        "page": "overview",
        "org_name": views.org_name(session, user.org_id),
        "stats": views.overview(session, user.org_id),
    }
    return views.render(request, "admin_overview.html", context, user=user)


# --- audit ----------------------------------------------------------------------------------


def _audit_filters(actor: str = "", action: str = "", since: str = "") -> views.AuditQuery:
    """The audit trail's filters, as the page's form (and its export links) send them."""
    return views.AuditQuery(
        actor=actor.strip()[:200], action=action.strip()[:64], since=read_since(since)
    )


AuditFilters = Annotated[views.AuditQuery, Depends(_audit_filters)]


def _audit_page_query(filters: AuditFilters, before: str = "") -> views.AuditQuery:
    """The filters and the page: the events below `before` (a cursor that is not a number: the
    first page)."""
    page_from = whole_number(before)
    return replace(filters, before=page_from if isinstance(page_from, int) else None)


@router.get("/audit")
def audit_page(
    _flushed: Flushed,
    request: Request,
    session: SessionDep,
    user: CurrentAdminUser,
    query: Annotated[views.AuditQuery, Depends(_audit_page_query)],
    verify: str = "",
) -> HTMLResponse:
    rows, next_before = views.audit_page(session, user.org_id, query)
    context = {
        "page": "audit",
        "events": rows,
        "query": query,
        "next_before": next_before,
        "chain": chain_state.verify_all(session, user.org_id).report if verify else None,
    }
    return views.render(request, "admin_audit.html", context, user=user)


@router.get("/audit/export.{fmt}")
def audit_export(
    _flushed: Flushed,
    fmt: str,
    session: SessionDep,
    user: CurrentAdminUser,
    request: Request,
    query: Annotated[views.AuditQuery, Depends(_audit_page_query)],
) -> Response:
    """At most EXPORT_LIMIT events, newest first, from `before` on; when more remain, a
    `Link: <…>; rel="next"` header (and the JSON's `next_before`) says where the next file starts,
    so a trail of any length can be exported whole."""
    if fmt not in ("csv", "json"):
        raise Problem(404, "No such export", "Export as CSV or JSON.")
    rows, next_before = views.audit_page(session, user.org_id, query, limit=EXPORT_LIMIT)
    events = [public_event(e) for e in rows]
    headers = {"Content-Disposition": f'attachment; filename="audit-{user.org_id}.{fmt}"'}
    if next_before is not None:
        url = request.url.replace(query=query.link(before=next_before))
        headers["Link"] = f'<{url}>; rel="next"'
    if fmt == "json":
        body = {"events": events, "next_before": next_before}
        return Response(json.dumps(body), media_type="application/json", headers=headers)
    return Response(_csv(events), media_type="text/csv", headers=headers)


def _csv(events: list[dict]) -> str:
    out = io.StringIO()
    columns = ["seq", "ts", "actor", "action", "target", "outcome", "reason", "details", "hash"]
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    for event in events:
        row = {**event, "details": json.dumps(event.get("details"))}
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: object) -> object:
    """A spreadsheet runs a cell that starts like a formula: agents choose some of this text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    if name not in STATIC:
        raise Problem(404, "Not found", "There is no such file.")
    return FileResponse(
        views.HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"}
    )


@router.get("/{anything:path}")
def not_found(anything: str, _user: CurrentAdminUser) -> Response:
    raise Problem(404, "Page not found", "There is nothing at this address.")

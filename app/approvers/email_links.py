"""Approve/deny links from email: GET shows a confirmation page, only its POST decides.

Mail scanners and link previewers fetch every URL in a message, so a GET must never change
anything. The token in the path is the approver's credential for this one request and
action; it stops working when the request leaves `pending` or its deadline passes.
"""

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, select

from app.approvers.service import ACTIVE
from app.core.db import undo_on_error
from app.core.errors import Conflict, JitgateError
from app.http.deps import SessionDep
from app.http.throttle import ClientAddressLimit
from app.identity import chain
from app.jit import state_machine as jit
from app.models import Agent, Approver, JitDecision, JitRequest
from notifiers.email.links import LinkAction, LinkClaims, LinkExpired, LinkInvalid, read_token
from notifiers.formatting import format_ttl, visible

router = APIRouter(tags=["email"])
templates = Jinja2Templates(
    directory=Path(__file__).resolve().parent.parent / "dashboard" / "templates"
)

LINK_ROUTE = "/approve-link/{token}"
CHANNEL = "email"
DEFAULT_DENY_REASON = "Denied by email"
CONFIRM_TEMPLATE = "email_confirm.html"
RESULT_TEMPLATE = "email_result.html"
MAX_NOTE_CHARS = 2000
# The token is in the URL: keep it out of caches, referrers, search indexes and frames.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}


class Page(StrEnum):
    """Every outcome a link can show, each with its heading and HTTP status."""

    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    REFUSED = "refused"
    DONE = "done"


PAGE_TEXT = {
    Page.INVALID: (404, "This link is not valid", "Check that you copied the whole link."),
    Page.EXPIRED: (410, "This link has expired", "The request's deadline has passed."),
    Page.USED: (409, "This request is already decided", "Nothing more is needed from you."),
    Page.REFUSED: (403, "Your decision was not recorded", ""),
    Page.DONE: (200, "Thank you: your decision is recorded", ""),
}


class LinkProblem(Exception):
    def __init__(self, page: Page, detail: str = "") -> None:
        super().__init__(detail)
        self.page = page
        self.detail = detail


@dataclass(frozen=True)
class LinkContext:
    claims: LinkClaims
    request: JitRequest
    approver: Approver
    agent_name: str


def load_link(session: Session, token: str) -> LinkContext:
    """The request and approver a token names, or the LinkProblem page to show instead."""
    try:
        claims = read_token(token)
    except LinkExpired as exc:
        raise LinkProblem(Page.EXPIRED) from exc
    except LinkInvalid as exc:
        raise LinkProblem(Page.INVALID) from exc
    request = session.get(JitRequest, claims.request_id)
    approver = session.get(Approver, claims.approver_id)
    if request is None or approver is None or {request.org_id, approver.org_id} != {claims.org_id}:
        raise LinkProblem(Page.INVALID)
    if approver.status != ACTIVE:  # disabled or deleted since the mail went out
        raise LinkProblem(Page.REFUSED, "Your approver account is no longer active.")
    if request.status != jit.PENDING or _already_decided(session, request.id, approver.id):
        raise LinkProblem(Page.USED, f"Its status is {request.status}.")
    agent = session.get(Agent, request.agent_id)
    name = agent.name if agent else request.agent_id
    # A request made for a user reads "planner-bot for alice@acme.com", as in the mail.
    return LinkContext(
        claims, request, approver, visible(chain.acting_for(request.delegation, name))
    )


def _already_decided(session: Session, request_id: str, approver_id: str) -> bool:
    stmt = select(JitDecision.id).where(
        JitDecision.request_id == request_id, JitDecision.approver_id == approver_id
    )
    return session.exec(stmt).first() is not None


def result_page(request: Request, page: Page, detail: str = "") -> HTMLResponse:
    status, title, text = PAGE_TEXT[page]
    context = {"page": str(page), "title": title, "text": text, "detail": detail}
    return templates.TemplateResponse(
        request, RESULT_TEMPLATE, context, status_code=status, headers=PAGE_HEADERS
    )


@router.get(
    LINK_ROUTE,
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[ClientAddressLimit],
)
def confirm_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Show what the link would decide; change nothing."""
    try:
        link = load_link(session, token)
    except LinkProblem as problem:
        return result_page(request, problem.page, problem.detail)
    context = {
        "action": str(link.claims.action),
        "jit": link.request,
        "agent_name": link.agent_name,
        "approver": link.approver,
        "ttl": format_ttl(link.request.requested_ttl),
        "justification": visible(link.request.justification),
        "operation": visible(
            json.dumps(link.request.operation, indent=2, sort_keys=True, ensure_ascii=False)
        ),
        "note_max": MAX_NOTE_CHARS,
    }
    return templates.TemplateResponse(request, CONFIRM_TEMPLATE, context, headers=PAGE_HEADERS)


@router.post(
    LINK_ROUTE,
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[ClientAddressLimit],
)
def submit_decision(
    token: str,
    request: Request,
    session: SessionDep,
    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
) -> HTMLResponse:
    """The confirmation form's POST: the one place an email link decides."""
    try:
        with undo_on_error(session):
            link = load_link(session, token)
            _record(session, link, note.strip())
    except LinkProblem as problem:
        return result_page(request, problem.page, problem.detail)
    verb = "approved" if link.claims.action is LinkAction.APPROVE else "denied"
    return result_page(request, Page.DONE, f"You {verb} request {link.request.id}.")


def _record(session: Session, link: LinkContext, note: str) -> None:
    approving = link.claims.action is LinkAction.APPROVE
    try:
        jit.decide(
            session,
            request_id=link.request.id,
            approver=link.approver,
            decision=link.claims.action.value,
            comment=note or (None if approving else DEFAULT_DENY_REASON),
            channel=CHANNEL,
        )
    except Conflict as exc:  # someone (or the sweep) got there first
        raise LinkProblem(Page.USED, exc.description) from exc
    except JitgateError as exc:
        raise LinkProblem(Page.REFUSED, exc.description) from exc

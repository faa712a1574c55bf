"""JIT approval routes: agents request and wait, approvers decide, resource servers redeem."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from sqlmodel import Session

from app.approvers import scope as approver_scope
from app.core import events
from app.core.errors import Forbidden, NotFound
from app.http.deps import (
    AgentOrResource,
    CurrentAgent,
    CurrentApprover,
    CurrentPrincipal,
    OrgId,
    Principal,
    SessionDep,
    find_principal,
    parse_bearer,
    unit_of_work,
)
from app.http.throttle import ClientAddressLimit
from app.identity import chain
from app.identity.access_tokens import issuer_for
from app.jit import intake as jit_intake
from app.jit import revocation
from app.jit import state_machine as jit
from app.jit import tokens as jit_tokens
from app.jit import views as jit_views
from app.jit.schemas import ConsumeIn, DecisionIn, JitRequestIn
from app.jit.status import FINAL, RequestStatus
from app.resources import service as resources

router = APIRouter(tags=["jit"])
SSE_MAX_SECONDS = 600
SSE_KEEPALIVE_SECONDS = 15


@router.post("/jit/requests")
def create_request(
    org_id: OrgId, body: JitRequestIn, session: SessionDep, agent: AgentOrResource
) -> JSONResponse:
    fields = body.model_dump()
    fields["resource"] = resources.resource_for_request(
        session,
        org_id=org_id,
        caller_aud=agent.claims["aud"],
        permission=body.permission,
        resource=body.resource,
    )
    row, created = jit_intake.create_request(
        session,
        org_id=org_id,
        agent_id=agent.agent_id,
        delegation=chain.request_record(agent.claims),
        **fields,
    )
    view = jit_views.public(session, row, for_agent_id=agent.agent_id)
    status = 202 if row.status == RequestStatus.PENDING else 200
    return JSONResponse(
        jsonable_encoder(view), status_code=status, headers={"Location": view["status_url"]}
    )


def _answer(body: dict[str, Any]) -> JSONResponse:
    """Render in the handler's thread. A returned dict would be validated on another threadpool
    hop while this request still holds its transaction (SQLite's write lock, PostgreSQL's row
    locks); with every pool thread blocked on that lock, the hop never comes: deadlock."""
    return JSONResponse(jsonable_encoder(body))


def _authorize_read(session: Session, principal: Principal, row: Any) -> None:
    if principal.kind == "agent" and row.agent_id != principal.id:
        raise NotFound(f"no JIT request {row.id} in this organization")
    bound_to = principal.agent.claims["aud"] if principal.agent else None
    if bound_to not in (None, row.resource, issuer_for(row.org_id)):
        raise NotFound(f"no JIT request {row.id} for {bound_to}")  # a server sees its own only
    if principal.approver is not None:
        approver_scope.ensure_may_see(session, principal.approver, row)


def _load(org_id: str, request_id: str, token: str) -> tuple[dict[str, Any], bool]:
    """One short unit of work: authenticate, load, render. Never held open while waiting."""
    with unit_of_work() as session:
        principal = find_principal(org_id, token, resource_bound=True)
        row = jit.get_request(session, org_id=org_id, request_id=request_id)
        _authorize_read(session, principal, row)
        view = jit_views.public(
            session, row, for_agent_id=principal.id if principal.agent else None
        )
    waiting_for_token = (
        principal.kind == "agent"
        and view["status"] == RequestStatus.APPROVED
        and "token" not in view
    )
    return view, view["status"] != RequestStatus.PENDING and not waiting_for_token


@router.get("/jit/requests/{request_id}")
async def get_request(
    org_id: OrgId, request_id: str, request: Request, wait: Annotated[int, Query(ge=0, le=60)] = 0
) -> JSONResponse:
    token = parse_bearer(request)
    view, settled = await run_in_threadpool(_load, org_id, request_id, token)
    if wait and not settled:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        async with events.hub.subscribe(events.request_topic(request_id)) as queue:
            view, settled = await run_in_threadpool(_load, org_id, request_id, token)
            while not settled and (remaining := deadline - loop.time()) > 0:
                # No event by the deadline is no answer: events are hints (lost while Redis is
                # down), the row is the truth, so it is read again either way.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queue.get(), remaining)
                view, settled = await run_in_threadpool(_load, org_id, request_id, token)
    return JSONResponse(jsonable_encoder(view))


@router.get("/jit/requests/{request_id}/events")
async def stream_events(org_id: OrgId, request_id: str, request: Request) -> StreamingResponse:
    token = parse_bearer(request)
    first, _ = await run_in_threadpool(_load, org_id, request_id, token)  # authenticates now

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SSE_MAX_SECONDS
        last: tuple[str, bool] | None = None
        async with events.hub.subscribe(events.request_topic(request_id)) as queue:
            view = first
            while True:
                marker = (view["status"], "token" in view)
                if marker != last:
                    last = marker
                    yield f"event: status\ndata: {json.dumps(jsonable_encoder(view))}\n\n".encode()
                if (
                    view["status"] in FINAL
                    or loop.time() > deadline
                    or await request.is_disconnected()
                ):
                    return
                try:
                    await asyncio.wait_for(queue.get(), SSE_KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                view, _ = await run_in_threadpool(_load, org_id, request_id, token)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/jit/requests/{request_id}/cancel")
def cancel(
    org_id: OrgId, request_id: str, session: SessionDep, agent: CurrentAgent
) -> JSONResponse:
    row = jit.cancel(session, org_id=org_id, request_id=request_id, agent_id=agent.agent_id)
    return _answer(jit_views.public(session, row))


@router.post("/jit/requests/{request_id}/approve")
def approve(
    org_id: OrgId,
    request_id: str,
    session: SessionDep,
    approver: CurrentApprover,
    body: DecisionIn | None = None,
) -> JSONResponse:
    comment = body.comment if body else None
    row = jit.approve(session=session, request_id=request_id, approver=approver, comment=comment)
    return _answer(jit_views.public(session, row))


@router.post("/jit/requests/{request_id}/deny")
def deny(
    org_id: OrgId,
    request_id: str,
    session: SessionDep,
    approver: CurrentApprover,
    body: DecisionIn | None = None,
) -> JSONResponse:
    reason = body and (body.reason or body.comment)
    row = jit.deny(session=session, request_id=request_id, approver=approver, reason=reason or None)
    return _answer(jit_views.public(session, row))


@router.post("/jit/requests/{request_id}/revoke")
def revoke(
    org_id: OrgId, request_id: str, session: SessionDep, principal: CurrentPrincipal
) -> JSONResponse:
    if principal.kind == "agent":
        raise Forbidden("an approver or an admin revokes JIT tokens")
    if principal.approver is not None:
        row = jit.get_request(session, org_id=org_id, request_id=request_id)
        approver_scope.ensure_may_act(session, principal.approver, row)
    row = revocation.revoke(session, org_id=org_id, request_id=request_id, actor=principal.id)
    return _answer(jit_views.public(session, row))


@router.post("/jit/tokens/consume", dependencies=[ClientAddressLimit])
def consume(org_id: OrgId, body: ConsumeIn, session: SessionDep) -> JSONResponse:
    """The token itself is the credential: signed, bound to one operation, usable once.

    Its own unit of work, committed before answering: a 200 means the use is recorded.
    """
    result = jit_tokens.consume(
        session,
        org_id=org_id,
        token=body.token,
        permission=body.permission,
        operation=body.operation,
        resource=body.resource,
    )
    return _answer(result)

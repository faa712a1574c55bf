"""JIT approval routes: agents request and wait, approvers decide, resource servers redeem."""

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.responses import Response

from app.approvers import scope as approver_scope
from app.core.errors import Forbidden
from app.http.deps import (
    ORG_ID_PATTERN,
    AgentOrResource,
    CurrentAgent,
    CurrentApprover,
    CurrentPrincipal,
    OrgId,
    SessionDep,
    parse_bearer,
)
from app.http.lean_route import add_lean_get
from app.http.throttle import ClientAddressLimit
from app.identity import chain
from app.jit import intake as jit_intake
from app.jit import revocation, waiting
from app.jit import state_machine as jit
from app.jit import tokens as jit_tokens
from app.jit import views as jit_views
from app.jit.schemas import ConsumeIn, DecisionIn, JitRequestIn
from app.jit.status import RequestStatus
from app.resources import service as resources

router = APIRouter(tags=["jit"])
ORG_ID = re.compile(ORG_ID_PATTERN)


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


@router.get("/jit/requests/{request_id}")
async def get_request(
    org_id: OrgId, request_id: str, request: Request, wait: Annotated[int, Query(ge=0, le=60)] = 0
) -> JSONResponse:
    view = await waiting.long_poll(org_id, request_id, parse_bearer(request), wait)
    return JSONResponse(jsonable_encoder(view))


@router.get("/jit/requests/{request_id}/events")
async def stream_events(org_id: OrgId, request_id: str, request: Request) -> Response:
    return await waiting.open_stream(org_id, request_id, parse_bearer(request))


# The same two routes served before the router (app/http/lean_route.py): a waiting agent then
# holds no FastAPI dependency state, exit stacks or exception-wrapper frames while it waits.
# They validate what the routes above validate; anything else goes on to the router.


def _lean_org_and_request(request: Request) -> tuple[str, str] | None:
    org_id = request.path_params["org_id"]
    return (org_id, request.path_params["request_id"]) if ORG_ID.fullmatch(org_id) else None


async def lean_get_request(request: Request) -> Response | None:
    where, wait = _lean_org_and_request(request), _plain_wait(request.scope["query_string"])
    if where is None or wait is None:
        return None
    return await get_request(*where, request, wait)


async def lean_stream_events(request: Request) -> Response | None:
    where = _lean_org_and_request(request)
    return None if where is None else await stream_events(*where, request)


def _plain_wait(query: bytes) -> int | None:
    """`wait` when the query is nothing else and it is plainly 0 to 60; None for the router."""
    if not query:
        return 0
    name, _, value = query.partition(b"=")
    if name != b"wait" or not value.isdigit() or len(value) > 2 or int(value) > 60:
        return None
    return int(value)


add_lean_get(router, "/jit/requests/{request_id}", lean_get_request)
add_lean_get(router, "/jit/requests/{request_id}/events", lean_stream_events)


@router.post("/jit/requests/{request_id}/cancel")
def cancel(
    org_id: OrgId, request_id: str, session: SessionDep, agent: CurrentAgent
) -> JSONResponse:
    row = jit.cancel(session, org_id=org_id, request_id=request_id, agent_id=agent.agent_id)
    return _answer(jit_views.public(session, row))


def _decision(
    decision: str, note: Callable[[DecisionIn], str | None]
) -> Callable[..., JSONResponse]:
    """The route of one decision (approve, deny): an approver's, with the note `note` reads."""

    def decide(
        org_id: OrgId,
        request_id: str,
        session: SessionDep,
        approver: CurrentApprover,
        body: DecisionIn | None = None,
    ) -> JSONResponse:
        comment = note(body) if body else None
        row = jit.decide(
            session, request_id=request_id, approver=approver, decision=decision, comment=comment
        )
        return _answer(jit_views.public(session, row))

    return decide


router.add_api_route(
    "/jit/requests/{request_id}/approve",
    _decision(jit.APPROVE, lambda body: body.comment),
    methods=["POST"],
    name="approve",
)
router.add_api_route(
    "/jit/requests/{request_id}/deny",
    # A denial's note is its reason, or its comment.
    _decision(jit.DENY, lambda body: body.reason or body.comment or None),
    methods=["POST"],
    name="deny",
)


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

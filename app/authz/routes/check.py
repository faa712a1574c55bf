"""Permission checks for agents holding an access token.

The hot path is async and touches no database session: the token is verified offline and the
agent's status and the org's policies come from short-lived caches. Only a check made with a
JIT token writes (it redeems the token), and that part runs on a worker thread.
"""

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.requests import Request

from app.audit import service as audit
from app.authz import check as authz
from app.authz.schemas import CheckBulkIn, CheckIn
from app.core.errors import Forbidden
from app.http.deps import (
    AgentCaller,
    CurrentAgent,
    OrgId,
    agent_request,
    unit_of_work,
)
from app.http.lean_route import add_lean_post

router = APIRouter(tags=["authz"])


def _with_jit_token(
    org_id: str, caller: AgentCaller, subject: authz.AgentFacts, body: CheckIn
) -> authz.Decision:
    from app.jit import tokens as jit_tokens

    with unit_of_work() as session:  # a lean route: no SessionDep
        return jit_tokens.check_with_jit_token(
            session,
            org_id=org_id,
            caller=caller,
            subject=subject,
            permission=body.permission,
            operation=body.operation or (body.context or {}).get("operation"),
        )


async def _check_one(org_id: str, caller: AgentCaller, body: CheckIn) -> dict[str, Any]:
    """One check, its room in the audit queue already made (audit.room)."""
    if caller.on_behalf_of is not None and not authz.is_caller(caller.facts, body.subject):
        # A delegation lets the agent act for its user, not vouch for other agents.
        raise Forbidden("a delegated token checks only its own acting agent")
    subject = authz.subject_for(org_id, caller.facts, caller.scope, body.subject)
    if caller.claims.get("jit"):
        decision = await run_in_threadpool(_with_jit_token, org_id, caller, subject, body)
    else:
        own = subject.agent_id == caller.agent_id
        decision = authz.decide(
            org_id=org_id,
            subject=subject,
            permission=body.permission,
            token_scope=caller.scope if own else None,
            on_behalf_of=caller.on_behalf_of,
        )
    details = {"resource": body.resource} if body.resource else {}
    details |= caller.delegation_details()
    authz.audit_decision(org_id, caller.agent_id, decision, details=details)
    return decision.public()


# The hottest route is a LeanRoute (app/http/lean_route.py): it reads its org, caller and body
# itself, with the same rules and errors as the dependency-injected routes.
async def check(request: Request) -> JSONResponse:
    """May the calling agent (or the agent named in `subject`) use `permission` now?"""
    org_id, caller, body = await agent_request(request, CheckIn, redeems_jit=True)
    async with audit.room(org_id):  # an audit trail that has fallen behind slows checks
        return JSONResponse(await _check_one(org_id, caller, body))


add_lean_post(router, "/authz/check", check, summary="Check", schema=CheckIn.model_json_schema())


@router.post("/authz/check-bulk")
async def check_bulk(org_id: OrgId, body: CheckBulkIn, caller: CurrentAgent) -> dict[str, Any]:
    # Room for every check at once: a 503 then comes before any check is decided and audited.
    async with audit.room(org_id, events=len(body.checks)):
        return {"results": [await _check_one(org_id, caller, c) for c in body.checks]}

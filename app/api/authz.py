"""Permission checks for agents holding an access token."""

from typing import Any

from fastapi import APIRouter
from sqlmodel import Session

from app.api.deps import AgentCaller, CurrentAgent, OrgId, SessionDep
from app.errors import NotFound
from app.schemas import CheckBulkIn, CheckIn
from app.services import authz

router = APIRouter(tags=["authz"])


def _check_one(session: Session, org_id: str, caller: AgentCaller, body: CheckIn) -> dict[str, Any]:
    subject = authz.resolve_subject(session, org_id, caller.facts, body.subject)
    if subject is None:
        raise NotFound("no such subject in this organization")
    if caller.claims.get("jit"):
        from app.services import jit_tokens

        decision = jit_tokens.check_with_jit_token(
            session,
            org_id=org_id,
            caller=caller,
            subject=subject,
            permission=body.permission,
            operation=body.operation or (body.context or {}).get("operation"),
        )
    else:
        own = subject.agent_id == caller.agent_id
        decision = authz.decide(
            session,
            org_id=org_id,
            subject=subject,
            permission=body.permission,
            token_scope=caller.scope if own else None,
        )
    details = {"resource": body.resource} if body.resource else {}
    authz.audit_decision(org_id, caller.agent_id, decision, details=details)
    return decision.public()


@router.post("/authz/check")
def check(
    org_id: OrgId, body: CheckIn, session: SessionDep, caller: CurrentAgent
) -> dict[str, Any]:
    return _check_one(session, org_id, caller, body)


@router.post("/authz/check-bulk")
def check_bulk(
    org_id: OrgId, body: CheckBulkIn, session: SessionDep, caller: CurrentAgent
) -> dict[str, Any]:
    return {"results": [_check_one(session, org_id, caller, c) for c in body.checks]}

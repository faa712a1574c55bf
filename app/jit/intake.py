"""Opening a JIT request: eligibility, the request's fields, idempotency, auto-approval.

What happens to it afterwards is the state machine's (app/jit/state_machine.py).
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit import service as audit
from app.authz import policies
from app.authz.catalog import validate_permission
from app.core import metrics
from app.core.columns import utcnow
from app.core.durations import parse_duration
from app.core.errors import InvalidTransition, NotEligible, RuleViolation
from app.core.validation import http_url
from app.identity import chain, rate_limits
from app.identity.tokens import validate_resource
from app.jit import operations
from app.jit.notify import after_change
from app.jit.state_machine import MAX_TTL, approve_now
from app.jit.status import RequestStatus
from app.models import Agent, JitRequest
from app.resources import service as resources


def _existing(session: Session, org_id: str, agent_id: str, key: str) -> JitRequest | None:
    stmt = select(JitRequest).where(
        JitRequest.org_id == org_id,
        JitRequest.agent_id == agent_id,
        JitRequest.idempotency_key == key,
    )
    return session.exec(stmt).first()


def _same_request(
    row: JitRequest, permission: str, op_hash: str, resource: str | None
) -> JitRequest:
    if row.permission != permission or row.operation_hash != op_hash or row.resource != resource:
        raise InvalidTransition(
            "idempotency_key was already used for a different request", code="idempotency_conflict"
        )
    return row


def create_request(
    session: Session,
    *,
    org_id: str,
    agent_id: str,
    permission: str,
    justification: str,
    expires_in: Any = "10m",
    operation: Any = None,
    callback_url: str | None = None,
    idempotency_key: str | None = None,
    resource: str | None = None,
    delegation: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[JitRequest, bool]:
    """Open a request (or return the one with the same idempotency key). Returns (row, created).
    `delegation`: the chain of the delegated token it is asked with (app.identity.chain)."""
    now = now or utcnow()
    validate_permission(permission)
    agent = session.get(Agent, agent_id)
    if agent is None or agent.org_id != org_id or agent.status != "active":
        raise NotEligible("the agent is not active")
    if permission not in agent.capabilities:
        raise NotEligible(f"{permission} is not among the agent's registered capabilities")
    policy = policies.resolve(session, org_id=org_id, permission=permission)
    if policy is not None and policy.mode == "deny":
        raise NotEligible(f"{permission} is denied by policy {policy.id}")
    if policy is not None:
        rule = policies.PolicyRule(policy.id, policy.permission, policy.mode, policy.delegation)
        if why := rule.refuses(delegated=delegation is not None):
            raise NotEligible(f"{permission} is {why}")
    if not isinstance(justification, str) or not justification.strip():
        raise RuleViolation("justification is required: say why this operation is needed")
    op, op_hash = operations.normalize(operation)
    resource = validate_resource(resource)
    resources.require_registered(session, org_id=org_id, resource=resource)
    if idempotency_key and (row := _existing(session, org_id, agent_id, idempotency_key)):
        return _same_request(row, permission, op_hash, resource), False
    if chain.delegation_ended(delegation, now.timestamp()):
        raise NotEligible("the user's delegation this request would be made under has expired")
    requested = parse_duration(expires_in, field="expires_in", minimum=10, maximum=MAX_TTL)
    max_ttl = policy.max_token_ttl if policy else 600
    timeout = policy.pending_timeout if policy else 900
    callback = http_url(callback_url, "callback_url") if callback_url is not None else None
    # Last, once the request is known to be valid and new: an idempotent retry is never refused.
    rate_limits.admit_jit_request(session, agent=agent, now=now)
    row = JitRequest(
        org_id=org_id,
        agent_id=agent_id,
        permission=permission,
        operation=op,
        operation_hash=op_hash,
        justification=justification.strip(),
        requested_ttl=requested,
        granted_ttl=min(requested, max_ttl),
        policy_id=policy.id if policy else None,
        approvals_required=policy.approvals_required if policy else 1,
        created_at=now,
        pending_deadline=_deadline(now, timeout, delegation),
        idempotency_key=idempotency_key,
        callback_url=callback,
        resource=resource,
        delegation=delegation,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = _existing(session, org_id, agent_id, idempotency_key or "")
        if existing is None:
            raise
        return _same_request(existing, permission, op_hash, resource), False
    metrics.jit_status(RequestStatus.PENDING)
    audit.record(
        session,
        audit.EventIn(
            org_id=org_id,
            actor=agent_id,
            action="jit.request",
            target=row.id,
            outcome=RequestStatus.PENDING,
            reason=row.justification,
            ts=now,
            details={
                "permission": permission,
                "operation_hash": op_hash,
                "ttl": row.granted_ttl,
                **({"resource": resource} if resource else {}),
                **chain.audit_details(delegation),
            },
        ),
    )
    if policy is None or policy.mode == "standing" or policy.auto_approve:
        why = "auto_approve policy" if policy and policy.auto_approve else "standing permission"
        approve_now(session, row, actor="policy:auto", reason=why, now=now)
    else:
        after_change(session, row, "created")
    return row, True


def _deadline(now: datetime, timeout: int, delegation: dict[str, Any] | None) -> datetime:
    """Asked for a user: nobody may approve it once the user's delegation has ended, so the
    expiry sweep closes it then (app.jit.state_machine.expire says why)."""
    deadline = now + timedelta(seconds=timeout)
    ends = chain.delegation_expiry(delegation)
    return min(deadline, ends) if ends is not None else deadline

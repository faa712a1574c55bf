"""How a JIT request is shown: to the agent and approvers (JSON) and to notifiers (RequestView)."""

from typing import Any

from sqlmodel import Session, col, select

from app.approvers.service import eligible
from app.identity.access_tokens import issuer_for
from app.jit.minting import token_for_agent
from app.jit.state_machine import aware
from app.models import Agent, Approver, JitDecision, JitRequest, Policy
from notifiers.base import ApproverView, DecisionView, RequestView


def _decisions(session: Session, request_id: str) -> list[tuple[JitDecision, Approver | None]]:
    rows = session.exec(
        select(JitDecision)
        .where(JitDecision.request_id == request_id)
        .order_by(col(JitDecision.created_at))
    ).all()
    return [(d, session.get(Approver, d.approver_id)) for d in rows]


def public(session: Session, row: JitRequest, *, for_agent_id: str | None = None) -> dict[str, Any]:
    base = f"{issuer_for(row.org_id)}/api/v1/jit/requests/{row.id}"
    agent = session.get(Agent, row.agent_id)
    body: dict[str, Any] = {
        "request_id": row.id,
        "status": row.status,
        "permission": row.permission,
        "operation": row.operation,
        "operation_hash": row.operation_hash,
        "justification": row.justification,
        "agent_id": row.agent_id,
        "agent_name": agent.name if agent else None,
        "requested_ttl": row.requested_ttl,
        "granted_ttl": row.granted_ttl,
        "approvals_required": row.approvals_required,
        "created_at": aware(row.created_at),
        "expires_at": aware(row.pending_deadline),
        "decided_at": aware(row.decided_at),
        "reason": row.decision_reason,
        "decisions": [
            {
                "approver_id": d.approver_id,
                "approver": (a.name or a.email) if a else None,
                "decision": d.decision,
                "comment": d.comment,
                "channel": d.channel,
                "at": aware(d.created_at),
            }
            for d, a in _decisions(session, row.id)
        ],
        "status_url": base,
        "events_url": f"{base}/events",
        "resource": row.resource,
    }
    if row.delegation:
        body["on_behalf_of"] = row.delegation.get("on_behalf_of")
        body["actor_chain"] = row.delegation.get("actors", [])
    if for_agent_id is not None and for_agent_id == row.agent_id:
        token = token_for_agent(row)
        if token is not None:
            body["token"] = token
    return body


def request_view(session: Session, row: JitRequest) -> RequestView:
    agent = session.get(Agent, row.agent_id)
    policy = session.get(Policy, row.policy_id) if row.policy_id else None
    approvers = eligible(session, policy) if policy else []
    return RequestView(
        request_id=row.id,
        org_id=row.org_id,
        agent_id=row.agent_id,
        agent_name=agent.name if agent else row.agent_id,
        agent_owner=agent.owner if agent else None,
        permission=row.permission,
        justification=row.justification,
        operation=row.operation,
        requested_ttl=row.requested_ttl,
        granted_ttl=row.granted_ttl,
        status=row.status,
        created_at=aware(row.created_at),
        pending_deadline=aware(row.pending_deadline),
        approvals_required=row.approvals_required,
        decisions=tuple(
            DecisionView(
                d.approver_id,
                (a.name or a.email) if a else d.approver_id,
                d.decision,
                d.comment,
                d.channel,
                aware(d.created_at),
            )
            for d, a in _decisions(session, row.id)
        ),
        approvers=tuple(ApproverView(a.id, a.email, a.name, a.slack_user_id) for a in approvers),
        channel_settings=dict(policy.channel_settings) if policy else {},
        decision_reason=row.decision_reason,
        resource=row.resource,
        extra={"channels": list(policy.channels) if policy else []},
        on_behalf_of=(row.delegation or {}).get("on_behalf_of"),
        actor_names=actor_names(row.delegation),
    )


def actor_names(delegation: dict[str, Any] | None) -> tuple[str, ...]:
    """The chain's agents in the order they acted (the token lists the most recent first)."""
    actors = (delegation or {}).get("actors") or []
    return tuple(str(a.get("agent") or a.get("sub")) for a in reversed(actors))

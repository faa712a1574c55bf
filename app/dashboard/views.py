"""What each dashboard page shows, read from the database as plain dicts for the templates."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.approvers import scope as approver_scope
from app.audit import service as audit
from app.core.columns import utcnow
from app.identity import chain
from app.jit import views as jit_views
from app.jit.state_machine import PENDING, aware
from app.jit.status import RequestStatus
from app.models import Agent, Approver, AuditEvent, Delivery, JitRequest
from notifiers.formatting import visible

HISTORY_STATUSES = tuple(s for s in RequestStatus if s != RequestStatus.PENDING)
MAX_ROWS = 200


@dataclass(frozen=True)
class HistoryFilters:
    status: str = ""
    permission: str = ""
    agent: str = ""
    limit: int = 50


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    since: datetime | None = None
    limit: int = 100


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return aware(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")  # type: ignore[union-attr]


def time_left(deadline: datetime | None, now: datetime | None = None) -> str:
    if deadline is None:
        return ""
    seconds = int((aware(deadline) - (now or utcnow())).total_seconds())  # type: ignore[operator]
    if seconds <= 0:
        return "expired"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m left"
    return f"{minutes}m {secs:02d}s left" if minutes else f"{secs}s left"


def _may_decide(session: Session, row: JitRequest, approver: Approver, cache: dict) -> bool:
    if row.policy_id not in cache:
        cache[row.policy_id] = approver_scope.may_act(session, approver, row)
    return cache[row.policy_id]


KEY_FIELDS = 4


def key_fields(operation: dict[str, Any]) -> list[tuple[str, str]]:
    """The operation's first few plain values (an amount, a currency, a recipient): what an
    approver needs at a glance on a card. Nested values are on the request page."""
    plain = [
        (visible(str(k)), visible(str(v))[:80])
        for k, v in operation.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    ]
    return plain[:KEY_FIELDS]


def _summary(session: Session, row: JitRequest, agents: dict[str, Agent]) -> dict[str, Any]:
    if row.agent_id not in agents:
        agents[row.agent_id] = session.get(Agent, row.agent_id)  # type: ignore[assignment]
    agent = agents[row.agent_id]
    return {
        "id": row.id,
        "status": row.status,
        "permission": row.permission,
        # A request made for a user reads "planner-bot for alice@acme.com" (RFC 8693 chain).
        "agent": visible(chain.acting_for(row.delegation, agent.name if agent else row.agent_id)),
        "owner": (agent.owner if agent else None) or "",
        "justification": visible(row.justification),
        "operation_fields": key_fields(row.operation or {}),
        "created": when(row.created_at),
        "decided": when(row.decided_at),
        "deadline": aware(row.pending_deadline).isoformat(),  # type: ignore[union-attr]
        "time_left": time_left(row.pending_deadline),
        "reason": visible(row.decision_reason or ""),
    }


def pending_for(session: Session, approver: Approver) -> list[dict[str, Any]]:
    """Open requests in the approver's org that this approver may decide, oldest first."""
    stmt = (
        select(JitRequest)
        .where(
            JitRequest.org_id == approver.org_id,
            JitRequest.status == PENDING,
            col(JitRequest.pending_deadline) > utcnow(),
        )
        .order_by(col(JitRequest.created_at))
        .limit(MAX_ROWS)
    )
    eligible_cache: dict = {}
    agents: dict[str, Agent] = {}
    return [
        _summary(session, row, agents)
        for row in session.exec(stmt).all()
        if _may_decide(session, row, approver, eligible_cache)
    ]


def request_detail(session: Session, approver: Approver, row: JitRequest) -> dict[str, Any]:
    view = jit_views.public(session, row)
    mine = [d for d in view["decisions"] if d["approver_id"] == approver.id]
    still_open = row.status == PENDING and aware(row.pending_deadline) > utcnow()  # type: ignore[operator]
    eligible_here = _may_decide(session, row, approver, {})
    return {
        **_summary(session, row, {}),
        "agent_id": row.agent_id,
        "operation_json": visible(
            json.dumps(row.operation, indent=2, sort_keys=True, ensure_ascii=False)
        ),
        "operation_hash": row.operation_hash,
        "resource": visible(row.resource) if row.resource else None,
        "requested_ttl": row.requested_ttl,
        "granted_ttl": row.granted_ttl,
        "approvals_required": row.approvals_required,
        "approvals": sum(1 for d in view["decisions"] if d["decision"] == "approve"),
        "decisions": [{**d, "at": when(d["at"])} for d in view["decisions"]],
        "eligible": eligible_here,
        "can_decide": still_open and eligible_here and not mine,
        "you_decided": mine[0]["decision"] if mine else "",
        "failed_deliveries": failed_deliveries(session, row.id),
    }


def failed_deliveries(session: Session, request_id: str) -> list[dict[str, Any]]:
    stmt = (
        select(Delivery)
        .where(Delivery.request_id == request_id, Delivery.status == "failed")
        .order_by(col(Delivery.created_at))
    )
    return [
        {
            "channel": d.channel,
            "kind": d.kind,
            "target": d.target,
            "attempts": d.attempts,
            "error": d.last_error or "",
            "at": when(d.updated_at),
        }
        for d in session.exec(stmt).all()
    ]


def history(session: Session, approver: Approver, filters: HistoryFilters) -> list[dict[str, Any]]:
    """Requests this approver may see (app/approvers/scope.py) that left `pending`,
    newest decision first."""
    org_id = approver.org_id
    stmt = select(JitRequest).where(
        JitRequest.org_id == org_id,
        JitRequest.status != PENDING,
        col(JitRequest.id).in_(approver_scope.visible_request_ids(session, approver)),
    )
    if filters.status:
        stmt = stmt.where(JitRequest.status == filters.status)
    if filters.permission:
        stmt = stmt.where(col(JitRequest.permission).contains(filters.permission, autoescape=True))
    if filters.agent:
        ids = select(Agent.id).where(Agent.org_id == org_id, Agent.name == filters.agent)
        stmt = stmt.where(col(JitRequest.agent_id).in_(ids))
    stmt = stmt.order_by(col(JitRequest.decided_at).desc(), col(JitRequest.created_at).desc())
    agents: dict[str, Agent] = {}
    return [_summary(session, row, agents) for row in session.exec(stmt.limit(filters.limit)).all()]


def _names(session: Session, org_id: str) -> dict[str, str]:
    """Readable names for the ids that appear as audit actors."""
    names = {a.id: a.name for a in session.exec(select(Agent).where(Agent.org_id == org_id))}
    for a in session.exec(select(Approver).where(Approver.org_id == org_id)):
        names[a.id] = a.name or a.email
    return names


def audit_trail(
    session: Session, approver: Approver, filters: AuditFilters
) -> list[dict[str, Any]]:
    """Events about the requests this approver may see, and their own (sign-ins, decisions).
    The org's full trail (agents, policies, tokens) is the admins' (GET /audit)."""
    org_id = approver.org_id
    mine = or_(
        col(AuditEvent.target).in_(approver_scope.visible_request_ids(session, approver)),
        AuditEvent.actor == approver.id,
    )
    events: Sequence[AuditEvent] = audit.list_events(
        session,
        org_id=org_id,
        actor=filters.actor or None,
        action=filters.action or None,
        since=filters.since,
        limit=filters.limit,
        where=mine,
    )
    names = _names(session, org_id)
    return [
        {
            "seq": e.seq,
            "ts": when(e.ts),
            "actor": e.actor,
            "actor_name": names.get(e.actor, ""),
            "action": e.action,
            "target": e.target,
            "outcome": e.outcome,
            "reason": e.reason,
        }
        for e in events
    ]

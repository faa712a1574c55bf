"""The JIT request state machine. Every transition is a compare-and-set on `status`.

    pending ──▶ approved ──▶ consumed | revoked | token_expired
       └──────▶ denied | expired | cancelled

A decision, a second click, the expiry sweep and a cancel can race; the UPDATE … WHERE
status = <expected> decides which one wins, and the losers answer 409.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.approvers import scope as approver_scope
from app.approvers.service import ACTIVE
from app.audit import service as audit
from app.authz import policies
from app.core import metrics, validation
from app.core.columns import aware, utcnow
from app.core.db import rows_changed
from app.core.errors import Forbidden, InvalidTransition, NotEligible, NotFound, RuleViolation
from app.identity import chain
from app.jit.minting import mint_token
from app.jit.notify import after_change
from app.jit.status import RequestStatus
from app.models import Agent, Approver, JitDecision, JitRequest, Policy

# Short names for the compare-and-set calls; the statuses themselves are RequestStatus.
PENDING, APPROVED, DENIED, EXPIRED, CANCELLED = (
    RequestStatus.PENDING,
    RequestStatus.APPROVED,
    RequestStatus.DENIED,
    RequestStatus.EXPIRED,
    RequestStatus.CANCELLED,
)
CONSUMED, REVOKED, TOKEN_EXPIRED = (
    RequestStatus.CONSUMED,
    RequestStatus.REVOKED,
    RequestStatus.TOKEN_EXPIRED,
)
APPROVE, DENY = "approve", "deny"  # a JitDecision's decision
MAX_TTL = 3600


def transition(
    session: Session,
    row: JitRequest,
    *,
    expected: str,
    values: dict[str, Any],
    action: str,
    actor: str,
    now: datetime,
    reason: str = "",
    details: dict[str, Any] | None = None,
    kind: str = "decided",
    extra_where: tuple = (),
) -> bool:
    """The one way a request changes state: UPDATE … SET values WHERE id = :id AND status =
    :expected. When this call wins, the change is an audit event (outcome: the new status) and
    its tasks and events are queued for after the commit. True when this call won."""
    request_id, org_id, created_at = row.id, row.org_id, aware(row.created_at)
    stmt = (
        update(JitRequest)
        .where(col(JitRequest.id) == request_id, col(JitRequest.status) == expected, *extra_where)
        .values(**values)
        # The database decides; don't re-evaluate the WHERE in Python on loaded objects.
        .execution_options(synchronize_session=False)
    )
    if rows_changed(session, stmt) != 1:
        return False
    # The UPDATE changed this one row: reload it, and nothing else (expiring every object made
    # each later read of the policy and the agent a round trip of its own).
    if row in session:
        session.expire(row)
    else:
        session.expire_all()
    event = audit.EventIn(
        org_id=org_id,
        actor=actor,
        action=action,
        target=request_id,
        outcome=values["status"],
        reason=reason,
        ts=now,
        details=details or {},
    )
    audit.record(session, event)
    after_change(session, row, kind)
    metrics.jit_status(values["status"], created_at.timestamp(), now.timestamp())
    return True


def get_request(
    session: Session, *, org_id: str, request_id: str, for_update: bool = False
) -> JitRequest:
    row = session.get(JitRequest, request_id, populate_existing=True, with_for_update=for_update)
    if row is None or row.org_id != org_id:
        raise NotFound(f"no JIT request {request_id} in this organization")
    return row


def approve_now(
    session: Session,
    row: JitRequest,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    """pending → approved, with the token minted in the same transaction.

    The contract sketches a worker minting it; doing it here makes approval and token atomic
    (there is no "approved but no token yet" state) and keeps a broker round trip off the
    decision → agent path (the 100 ms target). The worker's idempotent mint task remains for
    the sweep, which re-sends it for any approval ever found without a token."""
    if chain.delegation_ended(row.delegation, now.timestamp()):
        # Its pending deadline is the delegation's end: the sweep records the expiry.
        raise InvalidTransition(f"request {row.id} was asked under a delegation that has expired")
    if not transition(
        session,
        row,
        expected=PENDING,
        values={"status": APPROVED, "decided_at": now, "decision_reason": reason},
        action="jit.approve",
        actor=actor,
        reason=reason or "",
        now=now,
    ):
        raise InvalidTransition(f"request {row.id} is no longer pending")
    mint_token(session, request_id=row.id, now=now)


def ensure_still_grantable(session: Session, row: JitRequest) -> None:
    """What made the request eligible must still hold when it is approved and when its token
    is used: an active agent, the capability still registered, no deny policy since."""
    agent = session.get(Agent, row.agent_id)
    if agent is None or agent.status != "active":
        raise NotEligible("the requesting agent is no longer active")
    if row.permission not in agent.capabilities:
        raise NotEligible(f"{row.permission} is no longer among the agent's capabilities")
    policy = policies.resolve(session, org_id=row.org_id, permission=row.permission)
    if policy is not None and policy.mode == "deny":
        raise NotEligible(f"{row.permission} is now denied by policy {policy.id}")


def _check_decider(session: Session, row: JitRequest, approver: Approver) -> Policy | None:
    # The caller's copy may predate a disable or a delete: the row in this transaction decides.
    current = session.get(Approver, approver.id, populate_existing=True)
    if current is None or current.status != ACTIVE:
        raise Forbidden("this approver is disabled", code="approver_disabled")
    approver_scope.ensure_may_act(session, current, row)
    policy = session.get(Policy, row.policy_id) if row.policy_id else None
    agent = session.get(Agent, row.agent_id)
    owner = agent.owner if agent else None
    if (
        validation.same_person(owner, current.email)
        and policy is not None
        and not policy.allow_self_approval
    ):
        raise Forbidden(
            "the agent's owner may not approve its own request under this policy",
            code="self_approval_forbidden",
        )
    return policy


def _ensure_pending(row: JitRequest, now: datetime) -> None:
    if row.status != PENDING:
        raise InvalidTransition(f"request {row.id} is already {row.status}")
    if aware(row.pending_deadline) <= now:
        # Refused here without writing: this transaction rolls back; the sweep records the expiry.
        raise InvalidTransition(f"request {row.id} has expired")


def decide(
    session: Session,
    *,
    request_id: str,
    approver: Approver,
    decision: str,
    comment: str | None = None,
    channel: str = "api",
    now: datetime | None = None,
) -> JitRequest:
    """One approver's APPROVE or DENY, from any channel (the API, the dashboard, Slack, email):
    recorded, then the request denied, approved once enough approvals count, or left pending.
    `comment` is the approval's note or the denial's reason."""
    now = now or utcnow()
    if comment is not None and "\x00" in comment:  # every channel: PostgreSQL refuses NUL
        raise RuleViolation("the note may not contain NUL")
    # Lock the request before the audit head, the order expiry and consume take them in;
    # otherwise a decision and the sweep deadlock on PostgreSQL instead of one losing with 409.
    row = get_request(session, org_id=approver.org_id, request_id=request_id, for_update=True)
    _ensure_pending(row, now)
    # Held for the whole decision: the session's identity map keeps rows only while something
    # references them, so each check's session.get of the policy and the agent was a query of
    # its own (six round trips of an approval's 37 on PostgreSQL; bench/bench_jit.py).
    held = _hold(session, row)  # noqa: F841 - kept alive on purpose
    _check_decider(session, row, approver)
    ensure_still_grantable(session, row)
    try:
        with session.begin_nested():
            session.add(
                JitDecision(
                    request_id=row.id,
                    approver_id=approver.id,
                    decision=decision,
                    comment=comment,
                    channel=channel,
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError as exc:
        raise InvalidTransition(
            "you have already decided this request", code="already_decided"
        ) from exc
    label = approver.name or approver.email
    audit.record(
        session,
        audit.EventIn(
            org_id=row.org_id,
            actor=approver.id,
            action=f"jit.{decision}",
            target=row.id,
            outcome="recorded",
            reason=comment or "",
            ts=now,
            details={"channel": channel, "by": label},
        ),
    )
    if decision == DENY:
        _finish(session, row, DENIED, comment or f"denied by {label}", approver.id, now)
    elif _approvals(session, row) >= row.approvals_required:
        approve_now(session, row, actor=approver.id, reason=comment, now=now)
    else:
        after_change(session, row, "updated")
    return get_request(session, org_id=row.org_id, request_id=row.id)


def _hold(session: Session, row: JitRequest) -> tuple[Policy | None, Agent | None]:
    policy = session.get(Policy, row.policy_id) if row.policy_id else None
    return policy, session.get(Agent, row.agent_id)


def _approvals(session: Session, row: JitRequest) -> int:
    """Approvals that still count: each from an approver who may act on the request now (active,
    still named by its policy). A vote whose approver was since disabled, deleted or taken off
    the policy no longer makes up half of a two-person rule."""
    stmt = (
        select(Approver)
        .join(JitDecision, col(JitDecision.approver_id) == col(Approver.id))
        .where(JitDecision.request_id == row.id, JitDecision.decision == APPROVE)
    )
    voters = session.exec(stmt).all()
    return sum(1 for voter in voters if approver_scope.may_act(session, voter, row))


def close_pending(
    session: Session,
    row: JitRequest,
    *,
    status: str,
    reason: str,
    actor: str,
    now: datetime,
    action: str = "",
    extra_where: tuple = (),
) -> bool:
    """pending → a final status (denied, cancelled, expired), the reason kept as the request's
    own (`action` defaults to jit.<status>). True when this call closed it."""
    return transition(
        session,
        row,
        expected=PENDING,
        values={"status": status, "decided_at": now, "decision_reason": reason},
        action=action or f"jit.{status}",
        actor=actor,
        reason=reason,
        now=now,
        extra_where=extra_where,
    )


def _finish(
    session: Session, row: JitRequest, status: str, reason: str, actor: str, now: datetime
) -> None:
    if not close_pending(session, row, status=status, reason=reason, actor=actor, now=now):
        raise InvalidTransition(f"request {row.id} is no longer pending")


def cancel(
    session: Session, *, org_id: str, request_id: str, agent_id: str, now: datetime | None = None
) -> JitRequest:
    now = now or utcnow()
    row = get_request(session, org_id=org_id, request_id=request_id)
    if row.agent_id != agent_id:  # the same answer as an unknown id: another agent's is not ours
        raise NotFound(f"no JIT request {request_id} in this organization")
    if row.status != PENDING:
        raise InvalidTransition(f"request {row.id} is already {row.status}")
    _finish(session, row, CANCELLED, "cancelled by the agent", agent_id, now)
    return get_request(session, org_id=org_id, request_id=request_id)


def expire(session: Session, *, request_id: str, now: datetime | None = None) -> bool:
    """Pending past its deadline → expired. True when this call expired it."""
    now = now or utcnow()
    row = session.get(JitRequest, request_id)
    if row is None or row.status != PENDING or aware(row.pending_deadline) > now:  # type: ignore[operator]
        return False
    why = "nobody decided before the deadline"
    if chain.delegation_ended(row.delegation, now.timestamp()):
        why = "the user's delegation it was asked under expired before anyone decided"
    return close_pending(
        session,
        row,
        status=EXPIRED,
        reason=why,
        actor="system",
        now=now,
        action="jit.expire",
        extra_where=(col(JitRequest.pending_deadline) <= now,),
    )

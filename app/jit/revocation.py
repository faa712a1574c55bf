"""How an issued JIT token dies before use: revoked by an approver or admin, or withdrawn with
its request when its agent is suspended or deleted or the user's delegation is revoked. Each
change is a compare-and-set on the request's status, which is what redemption reads."""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.core.columns import utcnow
from app.core.errors import InvalidTransition
from app.core.kv import StoreUnavailable
from app.identity import access_tokens
from app.jit.state_machine import (
    APPROVED,
    CANCELLED,
    PENDING,
    REVOKED,
    close_pending,
    get_request,
    transition,
)
from app.models import IssuedToken, JitRequest

log = logging.getLogger(__name__)


def withdraw_for_agent(
    session: Session, *, org_id: str, agent_id: str, reason: str, now: datetime | None = None
) -> int:
    """An agent suspended or deleted loses what it was waiting for or holding: pending requests
    are cancelled and approved, unused tokens revoked; so are requests asked for a user through
    a chain this agent was part of (its delegation's epochs name it). Returns how many changed."""
    now = now or utcnow()
    own = select(JitRequest).where(
        JitRequest.org_id == org_id,
        JitRequest.agent_id == agent_id,
        col(JitRequest.status).in_((PENDING, APPROVED)),
    )
    rows = list(session.exec(own).all())
    rows += _delegated_open_requests(
        session, org_id, lambda d: agent_id in (d.get("epochs") or {}), agent_id
    )
    return sum(_withdraw(session, row, reason, now) for row in rows)


def withdraw_for_delegation(
    session: Session, *, org_id: str, jtis: list[str], reason: str, now: datetime | None = None
) -> int:
    """Delegated tokens were revoked: requests asked under any of them (their delegation's
    parents name one) are cancelled, or their unused tokens revoked. Returns how many changed."""
    now = now or utcnow()
    revoked = set(jtis)
    rows = _delegated_open_requests(
        session, org_id, lambda d: bool(revoked.intersection(d.get("parents") or []))
    )
    return sum(_withdraw(session, row, reason, now) for row in rows)


def _delegated_open_requests(
    session: Session,
    org_id: str,
    matches: Callable[[dict[str, Any]], bool],
    except_agent: str | None = None,
) -> list[JitRequest]:
    """The org's pending or approved requests asked for a user whose chain `matches`. Filtered
    here, not in SQL: the chain is a JSON column (SQLite and PostgreSQL query JSON differently),
    and open requests are few (each agent's are capped by its max_pending_jit)."""
    stmt = select(JitRequest).where(
        JitRequest.org_id == org_id,
        col(JitRequest.status).in_((PENDING, APPROVED)),
        col(JitRequest.delegation).is_not(None),
    )
    return [
        row
        for row in session.exec(stmt).all()
        if row.agent_id != except_agent
        and isinstance(row.delegation, dict)
        and matches(row.delegation)
    ]


def _withdraw(session: Session, row: JitRequest, reason: str, now: datetime) -> bool:
    """approved → revoked (its token retired) or pending → cancelled, each a compare-and-set:
    a decision or a redemption racing this one wins or loses cleanly.

    `row` was read before: a decision may have approved it since (committed while this
    transaction waited on its lock, or before a list's later row was reached). A cancel that
    loses to an approval revokes what was approved, or a suspended agent keeps its token."""
    if row.status == PENDING:
        if close_pending(session, row, status=CANCELLED, reason=reason, actor="system", now=now):
            return True
        row = get_request(session, org_id=row.org_id, request_id=row.id)  # as it is now
    if row.status != APPROVED:
        return False
    after = revoke(
        session, org_id=row.org_id, request_id=row.id, actor=reason, now=now, missing_ok=True
    )
    return after.status == REVOKED


def revoke(
    session: Session,
    *,
    org_id: str,
    request_id: str,
    actor: str,
    now: datetime | None = None,
    missing_ok: bool = False,
) -> JitRequest:
    """Kill an issued, unused token (approved → revoked)."""
    now = now or utcnow()
    row = get_request(session, org_id=org_id, request_id=request_id)
    if not transition(
        session,
        row,
        expected=APPROVED,
        values={"status": REVOKED, "decision_reason": f"revoked by {actor}"},
        action="jit.revoke",
        actor=actor,
        now=now,
    ):
        if missing_ok:
            return row
        raise InvalidTransition(
            f"request {row.id} is {row.status}; only an approved token can be revoked"
        )
    if row.token_jti:
        retire_token(session, row.token_jti, now, ttl=3600)
    return get_request(session, org_id=org_id, request_id=request_id)


def retire_token(session: Session, jti: str, now: datetime, *, ttl: int) -> None:
    """A used or revoked JIT token is dead as a bearer too: on the revocation list now, and
    in its issued_token row, from which the list is rebuilt when an embedded server starts."""
    session.execute(
        update(IssuedToken)
        .where(col(IssuedToken.jti) == jti)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    _also_list_revoked(jti, ttl)


def _also_list_revoked(jti: str, ttl: int) -> None:
    """A JIT token's life is its request's status in the database, which every redemption
    reads; the shared revocation list is defence in depth, so an outage of it must not stop a
    redemption or a revocation."""
    try:
        access_tokens.mark_revoked(jti, ttl)
    except StoreUnavailable:
        log.warning("JIT token %s: not added to the revocation list (Redis unreachable)", jti)

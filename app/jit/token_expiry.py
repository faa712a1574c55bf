"""JIT tokens past their `exp`: approved → token_expired, run by the sweep (the token itself
already fails its exp check; the status says why a late redemption is refused)."""

from datetime import datetime

from sqlmodel import Session, col, select

from app.core.columns import utcnow
from app.jit.state_machine import APPROVED, TOKEN_EXPIRED, transition
from app.models import JitRequest


def expire_tokens(session: Session, *, now: datetime | None = None) -> list[str]:
    """approved → token_expired for tokens past their exp (the token itself already fails exp)."""
    now = now or utcnow()
    return [rid for rid in tokens_past_exp(session, now) if expire_token(session, rid, now=now)]


def tokens_past_exp(session: Session, now: datetime) -> list[str]:
    stmt = select(JitRequest.id).where(
        JitRequest.status == APPROVED, col(JitRequest.token_expires_at) <= now
    )
    return list(session.exec(stmt).all())


def expire_token(session: Session, request_id: str, *, now: datetime) -> bool:
    """One request's approved → token_expired (compare-and-set); True when this call did it."""
    row = session.get(JitRequest, request_id)
    if row is None or row.status != APPROVED:
        return False
    return transition(
        session,
        row,
        expected=APPROVED,
        values={"status": TOKEN_EXPIRED},
        action="jit.token_expire",
        actor="system",
        now=now,
        extra_where=(col(JitRequest.token_expires_at) <= now,),
    )

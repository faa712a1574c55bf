"""Minting a JIT request's token once it is approved, and handing it to its agent.

Below the state machine (which mints on approval in the same transaction) and the rest of the
token's life (app.jit.tokens), so neither is imported back.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.core.columns import aware, utcnow
from app.core.db import rows_changed
from app.core.secrets import decrypt, encrypt
from app.core.times import rfc3339
from app.identity import access_tokens, chain, tokens
from app.jit.notify import after_change
from app.jit.status import RequestStatus
from app.models import Agent, JitDecision, JitRequest

APPROVED = RequestStatus.APPROVED


def mint_token(session: Session, *, request_id: str, now: datetime | None = None) -> bool:
    """Mint the request's token if it is approved and has none yet (idempotent). True if minted."""
    now = now or utcnow()
    row = session.get(JitRequest, request_id, populate_existing=True)
    if row is None or row.status != APPROVED or row.token_jti is not None:
        return False
    agent = session.get(Agent, row.agent_id)
    if agent is None or agent.status != "active":
        return False  # withdraw_for_agent revokes such approvals
    approved_at = aware(row.decided_at) or utcnow()
    approvers = session.exec(
        select(JitDecision.approver_id).where(
            JitDecision.request_id == row.id, JitDecision.decision == "approve"
        )
    ).all()
    # exp counts from the approval, not from when a worker got round to minting; and a token
    # asked for a user ends no later than the delegation it was asked under (less than a
    # second of it left counts as ended: a token's exp is in whole seconds).
    ends = approved_at + timedelta(seconds=row.granted_ttl)
    delegation_ends = chain.delegation_expiry(row.delegation)
    if delegation_ends is not None:
        ends = min(ends, delegation_ends)
    ttl = int((ends - now).total_seconds())
    if delegation_ends is not None and ttl < 1:
        return _delegation_ended(session, row, delegation_ends)
    ttl = max(ttl, 1)
    issued = tokens.mint(
        session,
        agent=agent,
        scope=[row.permission],
        audience=row.resource or access_tokens.issuer_for(row.org_id),
        ttl=ttl,
        kind="jit",
        extra={
            "jit": {
                "request_id": row.id,
                "operation_hash": row.operation_hash,
                "approved_by": list(approvers) or ["policy:auto"],
                **({"on_behalf_of": row.delegation["on_behalf_of"]} if row.delegation else {}),
            },
            # Asked for a user: revoking the delegation or suspending an actor stops it too.
            **chain.jit_token_links(row.delegation),
        },
        now=now.timestamp(),
    )
    expires_at = now + timedelta(seconds=ttl)
    if not _while_unminted(
        session,
        row,
        token_jti=issued.jti,
        token_encrypted=encrypt(issued.access_token),
        token_expires_at=expires_at,
    ):
        return False  # another worker minted first; this token was never handed out
    details = {"jti": issued.jti, "ttl": ttl}
    audit.record_success(session, row.org_id, "system", "jit.token_mint", row.id, details=details)
    session.expire_all()
    after_change(session, row, "token")
    return True


def _delegation_ended(session: Session, row: JitRequest, ended: datetime) -> bool:
    """Approved, but the user's delegation ran out before a token was minted: none is. The
    request's token life is marked as over at the delegation's end, so the expiry sweep moves
    it to token_expired (audited, the channels told) and the re-mint sweep stops asking."""
    _while_unminted(session, row, token_expires_at=ended)
    return False


def _while_unminted(session: Session, row: JitRequest, **values: Any) -> bool:
    """Set an approved request's token columns while it has no token (a compare-and-set: True
    when this call set them)."""
    stmt = (
        update(JitRequest)
        .where(
            col(JitRequest.id) == row.id,
            col(JitRequest.status) == APPROVED,
            col(JitRequest.token_jti).is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(session, stmt) == 1


def token_for_agent(row: JitRequest) -> dict[str, Any] | None:
    if row.status != APPROVED or not row.token_encrypted or row.token_expires_at is None:
        return None
    expires = aware(row.token_expires_at)
    assert expires is not None
    left = int((expires - datetime.now(UTC)).total_seconds())
    if left <= 0:
        return None
    return {
        "access_token": decrypt(row.token_encrypted),
        "token_type": "Bearer",
        "expires_in": left,
        "expires_at": rfc3339(expires),
        "scope": row.permission,
    }

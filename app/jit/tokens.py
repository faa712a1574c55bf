"""Single-operation JIT tokens after minting (app.jit.minting): redemption exactly once, and the
answers the token service asks of JIT tokens. Revocation is app.jit.revocation, expiry
app.jit.token_expiry."""

import logging
import time
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.authz import check as authz
from app.core.columns import utcnow
from app.core.errors import (
    AudienceMismatch,
    InvalidRequest,
    InvalidTransition,
    OperationMismatch,
    TokenAlreadyUsed,
    TokenExpired,
    TokenRevoked,
)
from app.identity import access_tokens, chain, revocation
from app.jit import operations
from app.jit.revocation import retire_token, revoke, withdraw_for_delegation
from app.jit.state_machine import (
    APPROVED,
    CONSUMED,
    REVOKED,
    TOKEN_EXPIRED,
    ensure_still_grantable,
    get_request,
    transition,
)
from app.models import JitRequest

log = logging.getLogger(__name__)


def _verified_jit_claims(org_id: str, token: str) -> dict[str, Any]:
    # The request's status, not the revocation list, explains a used or revoked JIT token.
    # Any audience of this issuer verifies here (a token bound to a resource server is redeemed
    # by that server); _check_audience then holds it to the one its request named.
    audience = access_tokens.any_audience(token)
    claims = access_tokens.verify(token, org_id=org_id, audience=audience, check_revoked=False)
    if not isinstance(claims.get("jit"), dict):
        raise InvalidRequest("this is not a JIT token")
    return claims


def _check_audience(row: JitRequest, claims: dict[str, Any], resource: str | None) -> None:
    bound_to = row.resource or access_tokens.issuer_for(row.org_id)
    if claims.get("aud") != bound_to:
        raise AudienceMismatch("this token was not issued for the resource its request named")
    if resource is not None and resource != bound_to:
        raise AudienceMismatch(f"this token is for {bound_to}, not {resource}")


REFUSALS = (
    OperationMismatch,
    AudienceMismatch,
    TokenAlreadyUsed,
    TokenRevoked,
    TokenExpired,
    InvalidTransition,
)


def consume(
    session: Session,
    *,
    org_id: str,
    token: str,
    permission: str,
    operation: Any,
    actor: str | None = None,
    resource: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Redeem a JIT token for exactly one operation; a refused redemption is audited too.
    `resource`, when the redeeming server names itself, must be the token's audience."""
    now = now or utcnow()
    claims = _verified_jit_claims(org_id, token)
    try:
        chain.ensure_live(org_id, claims)  # a request made for a user: its chain still good
        row = get_request(session, org_id=org_id, request_id=claims["jit"]["request_id"])
        _check_audience(row, claims, resource)
        return _redeem(session, row, claims, permission, operation, actor, now)
    except REFUSALS as exc:
        # The request's transaction rolls back with the refusal: record it on its own.
        audit.record_later(
            audit.EventIn(
                org_id=org_id,
                actor=actor or str(claims["sub"]),
                action="jit.consume",
                target=str(claims["jit"].get("request_id", "")),
                outcome="refused",
                reason=exc.description,
                ts=now,
                details={"jti": claims["jti"], "error": exc.code},
            )
        )
        raise


def _redeem(
    session: Session,
    row: JitRequest,
    claims: dict[str, Any],
    permission: str,
    operation: Any,
    actor: str | None,
    now: datetime,
) -> dict[str, Any]:
    org_id = row.org_id
    if row.status != APPROVED:
        _explain_refusal(session, org_id, row.id)  # used, revoked, expired: say which
    ensure_still_grantable(session, row)
    if permission != row.permission or claims.get("scope") != row.permission:
        raise OperationMismatch(f"this token is for {row.permission}, not {permission}")
    op, op_hash = operations.normalize(operation)
    if op_hash != row.operation_hash or op_hash != claims["jit"].get("operation_hash"):
        raise OperationMismatch("the operation differs from the one that was approved")
    won = transition(
        session,
        row,
        expected=APPROVED,
        values={"status": CONSUMED, "consumed_at": now},
        action="jit.consume",
        actor=actor or row.agent_id,
        now=now,
        details={
            "jti": claims["jti"],
            "operation_hash": op_hash,
            **chain.audit_details(row.delegation),
        },
        kind="consumed",
        extra_where=(col(JitRequest.token_jti) == claims["jti"],),
    )
    if not won:
        _explain_refusal(session, org_id, row.id)
    retire_token(session, claims["jti"], now, ttl=max(int(claims["exp"] - time.time()), 1))
    return {
        "valid": True,
        "request_id": row.id,
        "agent_id": row.agent_id,
        "permission": row.permission,
        "operation": op,
    }


def _explain_refusal(session: Session, org_id: str, request_id: str) -> None:
    row = get_request(session, org_id=org_id, request_id=request_id)
    if row.status == CONSUMED:
        raise TokenAlreadyUsed("this JIT token has already been used")
    if row.status == REVOKED:
        raise TokenRevoked("this JIT token has been revoked")
    if row.status == TOKEN_EXPIRED:
        raise TokenExpired("this JIT token has expired")
    raise InvalidTransition(f"request {row.id} is {row.status}")


def token_is_live(session: Session, claims: dict[str, Any]) -> bool:
    row = session.get(JitRequest, claims["jit"].get("request_id"))
    return row is not None and row.status == APPROVED and row.token_jti == claims.get("jti")


def check_with_jit_token(
    session: Session,
    *,
    org_id: str,
    caller: Any,
    subject: authz.AgentFacts,
    permission: str,
    operation: Any,
) -> authz.Decision:
    """/authz/check with a JIT token as the bearer: allowed once, for its permission and operation."""

    def refuse(reason: str) -> authz.Decision:
        return authz.Decision(False, reason, permission, subject.agent_id, jit_required=True)

    if subject.agent_id != caller.agent_id:
        return refuse("a JIT token only speaks for its own agent")
    if permission != caller.claims.get("scope"):
        return refuse(f"this JIT token is for {caller.claims.get('scope')}, not {permission}")
    try:
        result = consume(
            session,
            org_id=org_id,
            token=caller.token,
            permission=permission,
            operation=operation,
            actor=caller.agent_id,
        )
    except REFUSALS as exc:
        return refuse(exc.description)
    decision = authz.Decision(
        True,
        f"approved just in time (request {result['request_id']}); the token is now used",
        permission,
        subject.agent_id,
    )
    decision.extra["request_id"] = result["request_id"]
    return decision


class _Rules(revocation.JitTokenRules):
    """The token service's questions about JIT tokens, answered from the request's status."""

    def is_live(self, session: Session, claims: dict[str, Any]) -> bool:
        return token_is_live(session, claims)

    def revoke(self, session: Session, *, org_id: str, jti: str, actor: str) -> None:
        """Revoking a JIT token moves its request to revoked, which is what redemption reads."""
        stmt = select(JitRequest).where(JitRequest.org_id == org_id, JitRequest.token_jti == jti)
        row = session.exec(stmt).first()
        if row is not None:
            revoke(session, org_id=org_id, request_id=row.id, actor=actor, missing_ok=True)

    def withdraw_delegated(self, session: Session, *, org_id: str, jtis: list[str]) -> None:
        reason = "the user's delegation it was asked under was revoked"
        withdraw_for_delegation(session, org_id=org_id, jtis=jtis, reason=reason)


revocation.register_jit_rules(_Rules())

"""Whether an issued token is still live: revocation (RFC 7009) and introspection (RFC 7662).

A revocation writes the token's row (revoked_at) and the shared revocation list that every
check reads (access_tokens.mark_revoked); the delegated tokens exchanged from it go with it.
JIT tokens are the JIT engine's: their request's status says whether they are live.
"""

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.core.columns import aware
from app.core.errors import TokenRevoked
from app.identity import access_tokens, chain
from app.models import Agent, IssuedToken


def introspect(
    session: Session, *, org_id: str, token: str, requester_agent_id: str | None = None
) -> dict[str, Any]:
    """RFC 7662: inactive for anything not a live token of this org; never an error. An agent
    (requester_agent_id) learns about its own tokens only: another's answer inactive (§4)."""
    try:
        claims = access_tokens.verify(
            token, org_id=org_id, audience=access_tokens.any_audience(token)
        )
    except Exception:
        return {"active": False}
    record = session.get(IssuedToken, claims["jti"])
    if record is None or record.revoked_at is not None:
        return {"active": False}
    if requester_agent_id is not None and record.agent_id != requester_agent_id:
        return {"active": False}
    agent = session.get(Agent, record.agent_id)
    if agent is None or agent.status != "active":  # suspending an agent cuts its live tokens too
        return {"active": False}
    if not access_tokens.same_status_epoch(claims, agent.status_epoch):
        return {"active": False}  # issued before a suspension
    if claims.get("jit") and not _jit_rules.is_live(session, claims):
        return {"active": False}
    try:
        chain.ensure_live(org_id, claims)  # every agent of a delegation, every parent token
    except TokenRevoked:
        return {"active": False}
    keep = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "jit", "agent")
    keep += ("federated", "act")
    return {
        "active": True,
        "token_type": "Bearer",
        "username": claims.get("agent"),
        **{k: claims[k] for k in keep if k in claims},
    }


class JitTokenRules:
    """What only the JIT engine knows about its tokens. app.jit builds on this module and lends
    its rules at import (register_jit_rules), so this module never imports the engine back.
    Until then a JIT token is never live, and revoking one is a programming error."""

    def is_live(self, session: Session, claims: dict[str, Any]) -> bool:
        return False

    def revoke(self, session: Session, *, org_id: str, jti: str, actor: str) -> None:
        raise RuntimeError("app.jit.tokens is not loaded: a JIT token cannot be revoked")

    def withdraw_delegated(self, session: Session, *, org_id: str, jtis: list[str]) -> None:
        """JIT requests asked under these (now revoked) delegated tokens are withdrawn."""
        raise RuntimeError("app.jit.tokens is not loaded: JIT requests cannot be withdrawn")


_jit_rules = JitTokenRules()


def register_jit_rules(rules: JitTokenRules) -> None:
    global _jit_rules
    _jit_rules = rules


def revoke(
    session: Session, *, org_id: str, token: str, requester_agent_id: str | None, actor: str
) -> None:
    """RFC 7009: revoke if it is ours and the requester may; answer 200 either way."""
    jti = access_tokens.unverified_claims(token).get("jti")
    # Unverified input: a NUL byte or an overlong jti must not reach PostgreSQL (DataError).
    ours = isinstance(jti, str) and len(jti) <= 64 and jti.isprintable()
    record = session.get(IssuedToken, jti) if ours else None
    if record is None or record.org_id != org_id:
        return
    if requester_agent_id is not None and record.agent_id != requester_agent_id:
        return
    if record.kind == "jit":
        _jit_rules.revoke(session, org_id=org_id, jti=record.jti, actor=actor)
        return
    if record.revoked_at is None:
        _revoke_record(session, record)
        below = _revoke_descendants(session, record.jti)
        if record.subject is not None:  # a delegation: what was asked under it goes too
            _jit_rules.withdraw_delegated(session, org_id=org_id, jtis=[record.jti, *below])
        details = {"delegated_tokens_revoked": below} if below else {}
        audit.record_success(session, org_id, actor, "token.revoke", record.jti, details=details)


def _revoke_record(session: Session, record: IssuedToken) -> None:
    record.revoked_at = datetime.now(UTC)
    session.add(record)
    left = aware(record.expires_at) - datetime.now(UTC)
    access_tokens.mark_revoked(record.jti, int(left.total_seconds()))


def _revoke_descendants(session: Session, jti: str) -> list[str]:
    """Every delegated token exchanged from this one, at any depth, is revoked with it. (A
    child whose row is not written yet is stopped all the same: its `delegation` claim names
    this token as a parent, checked on every use; see app.identity.chain.)"""
    revoked: list[str] = []
    frontier = [jti]
    for _ in range(chain.MAX_ACTORS):
        if not frontier:
            break
        stmt = select(IssuedToken).where(col(IssuedToken.parent_jti).in_(frontier))
        children = session.exec(stmt).all()
        frontier = [c.jti for c in children]
        for child in children:
            if child.revoked_at is None:
                _revoke_record(session, child)
                revoked.append(child.jti)
    return revoked

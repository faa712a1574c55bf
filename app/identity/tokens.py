"""The OAuth token service: client-credentials grants, introspection (RFC 7662), revocation (RFC 7009)."""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.authz import policies
from app.core import metrics, row_writer
from app.core.columns import aware
from app.core.errors import InvalidGrant, InvalidScope, TokenRevoked
from app.identity import access_tokens, chain
from app.identity.assertions import AssertionRejected, verify_assertion
from app.models import Agent, IssuedToken
from app.resources import service as resources
from app.settings import get_settings

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_SCOPE_ITEMS = 200


@dataclass(frozen=True)
class IssuedAccessToken:
    access_token: str
    expires_in: int
    scope: str
    jti: str


def standing_capabilities(agent: Agent, *, delegated: bool = False) -> list[str]:
    """Capabilities whose policy is standing (or that no policy governs) and whose policy lets
    them be used this way (on a user's behalf or not)."""
    rules = policies.rules_for_org(agent.org_id)
    return [
        c
        for c in agent.capabilities
        if (r := policies.most_specific(rules, c)) is None
        or (r.mode == "standing" and r.refuses(delegated=delegated) is None)
    ]


def resolve_scope(agent: Agent, requested: str | None, *, delegated: bool = False) -> list[str]:
    standing = standing_capabilities(agent, delegated=delegated)
    if requested is None or not requested.strip():
        return standing
    items = requested.split()
    if len(items) > MAX_SCOPE_ITEMS:
        raise InvalidScope("too many scope values")
    rules = policies.rules_for_org(agent.org_id)
    for item in items:
        if item not in agent.capabilities:
            raise InvalidScope(f"{item!r} is not among the agent's registered capabilities")
        rule = policies.most_specific(rules, item)
        if rule is not None and rule.mode == "jit":
            raise InvalidScope(f"{item!r} needs just-in-time approval: POST /jit/requests")
        if rule is not None and rule.mode == "deny":
            raise InvalidScope(f"{item!r} is denied by policy {rule.policy_id}")
        if rule is not None and (why := rule.refuses(delegated=delegated)):
            raise InvalidScope(f"{item!r} is {why}")
    return sorted(set(items))


def validate_resource(resource: str | None) -> str | None:
    if resource is None:
        return None
    from urllib.parse import urlsplit

    if not isinstance(resource, str) or len(resource) > 2048:
        raise jwt_invalid_target()
    try:
        parts = urlsplit(resource)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        raise jwt_invalid_target() from None
    # RFC 8707 §2: an absolute URI without a fragment (a URI has no spaces or control characters).
    plain = resource.isprintable() and not any(c.isspace() for c in resource)
    if not plain or not parts.scheme or not parts.netloc or parts.fragment:
        raise jwt_invalid_target()
    return resource


def jwt_invalid_target() -> InvalidGrant:
    return InvalidGrant(
        "resource must be an absolute URI without a fragment", code="invalid_target"
    )


def sign_token(
    *,
    agent: Agent,
    scope: list[str],
    audience: str,
    ttl: int,
    kind: str = "access",
    extra: dict[str, Any] | None = None,
    now: float | None = None,
    subject: str | None = None,
    parent_jti: str | None = None,
) -> tuple[IssuedAccessToken, dict[str, Any]]:
    """Sign an access token; return it with the issued_token row that records it. `subject`
    is the user of a delegated token (RFC 8693: `sub` the user, `act` the agent)."""
    now_s = int(time.time() if now is None else now)
    jti = access_tokens.new_jti()
    claims = {
        "iss": access_tokens.issuer_for(agent.org_id),
        "sub": subject or agent.id,
        "client_id": agent.id,
        "agent": agent.name,
        "aud": audience,
        "scope": " ".join(scope),
        "iat": now_s,
        "nbf": now_s,
        "exp": now_s + ttl,
        "jti": jti,
        "org": agent.org_id,
        # Compared with the agent's on every use: a suspension outlives its reactivation.
        "status_epoch": agent.status_epoch,
        **(extra or {}),
    }
    record = {
        "jti": jti,
        "org_id": agent.org_id,
        "agent_id": agent.id,
        "kind": kind,
        "scope": claims["scope"],
        "audience": audience,
        "issued_at": datetime.fromtimestamp(now_s, UTC),
        "expires_at": datetime.fromtimestamp(now_s + ttl, UTC),
        "revoked_at": None,
        "subject": subject,
        "parent_jti": parent_jti,
    }
    issued = IssuedAccessToken(
        access_token=access_tokens.sign(claims), expires_in=ttl, scope=claims["scope"], jti=jti
    )
    return issued, record


def mint(session: Session, **kwargs: Any) -> IssuedAccessToken:
    """Sign a token and record it in the caller's transaction (JIT tokens)."""
    issued, record = sign_token(**kwargs)
    session.add(IssuedToken(**record))
    metrics.TOKENS_ISSUED.labels(str(kwargs.get("kind") or "access")).inc()
    return issued


@dataclass(frozen=True)
class Grant:
    """An authenticated agent and what it may be given; minting is a separate, short write."""

    agent: Agent
    scope: list[str]
    audience: str
    kid: str
    extra: dict[str, Any] = field(default_factory=dict)  # claims a grant adds (federated, act)
    subject: str | None = None  # a delegated token's user (its `sub`)
    parent_jti: str | None = None  # the delegated token it was exchanged from
    ttl: int | None = None  # shorter than the access token lifetime (a delegation's bound)


def authenticate(
    session: Session,
    *,
    org_id: str,
    assertion: str,
    scope: str | None,
    resource: str | None,
) -> Grant:
    """Verify the client assertion and decide scope and audience; reads only.

    Callers run this on a read-only session: with SQLite no write lock is held while a
    jwks_uri is fetched or a signature checked.
    """
    issuer = access_tokens.issuer_for(org_id)
    accepted = (access_tokens.token_endpoint_for(org_id), issuer)
    try:
        verified = verify_assertion(
            session, org_id=org_id, token=assertion, accepted_audiences=accepted
        )
    except AssertionRejected as exc:
        audit_refusal(org_id, exc.description, actor=exc.agent_id or "unknown")
        raise
    agent = verified.agent
    try:
        granted = resolve_scope(agent, scope)
        audience = validate_resource(resource) or issuer
        resources.require_registered(session, org_id=org_id, resource=resource)
    except (InvalidScope, InvalidGrant) as exc:
        audit_refusal(org_id, exc.description, actor=agent.id)
        raise
    return Grant(agent=agent, scope=granted, audience=audience, kid=verified.kid)


def issue(grant: Grant) -> IssuedAccessToken:
    """Sign the standing access token for an authenticated grant; its record is batched."""
    issued, record = sign_token(
        agent=grant.agent,
        scope=grant.scope,
        audience=grant.audience,
        ttl=min(grant.ttl or get_settings().access_token_ttl, get_settings().access_token_ttl),
        extra=grant.extra,
        subject=grant.subject,
        parent_jti=grant.parent_jti,
    )
    row_writer.append(IssuedToken, record)  # batched: issuing never waits for a disk write
    metrics.TOKENS_ISSUED.labels("access").inc()
    audit.record_later(
        audit.EventIn(
            org_id=grant.agent.org_id,
            actor=grant.agent.id,
            action="token.issue",
            target=issued.jti,
            outcome="success",
            details={
                "scope": issued.scope,
                "aud": grant.audience,
                "kid": grant.kid,
                **grant.extra,
                **({"on_behalf_of": grant.subject} if grant.subject else {}),
            },
        )
    )
    return issued


def audit_refusal(org_id: str, reason: str, *, actor: str) -> None:
    audit.record_later(
        audit.EventIn(
            org_id=org_id, actor=actor, action="token.issue", outcome="refused", reason=reason
        )
    )


def introspect(
    session: Session, *, org_id: str, token: str, requester_agent_id: str | None = None
) -> dict[str, Any]:
    """RFC 7662: inactive for anything not a live token of this org; never an error. An agent
    (requester_agent_id) learns about its own tokens only: another's answer inactive (§4)."""
    try:
        claims = access_tokens.verify(token, org_id=org_id, audience=any_audience(token))
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


def any_audience(token: str) -> str | None:
    """The token's own aud, unverified: introspection and JIT redemption accept tokens for any
    audience of this issuer (resource tokens too), and then check the audience themselves."""
    try:
        aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return None
    return aud if isinstance(aud, str) else None


def revoke(
    session: Session, *, org_id: str, token: str, requester_agent_id: str | None, actor: str
) -> None:
    """RFC 7009: revoke if it is ours and the requester may; answer 200 either way."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return
    jti = claims.get("jti")
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
        audit.record(
            session,
            audit.EventIn(
                org_id=org_id,
                actor=actor,
                action="token.revoke",
                target=record.jti,
                outcome="success",
                details={"delegated_tokens_revoked": below} if below else {},
            ),
        )


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

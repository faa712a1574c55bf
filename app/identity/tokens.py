"""The OAuth token service: client-credentials grants, scope and audience, signing and recording
tokens. Introspection and revocation are app.identity.revocation's."""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.authz import policies
from app.core import metrics, row_writer
from app.core.errors import InvalidGrant, InvalidScope
from app.identity import access_tokens, rate_limits, replay
from app.identity.assertions import AssertionRejected, VerifiedAssertion, verify_assertion
from app.models import Agent, IssuedToken
from app.resources import service as resources
from app.settings import get_settings

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_SCOPE_ITEMS = 200
_ACCESS_TOKENS_ISSUED = metrics.TOKENS_ISSUED.labels("access")  # bound once: labels() locks


@dataclass(frozen=True)
class IssuedAccessToken:
    access_token: str
    expires_in: int
    scope: str
    jti: str


# standing_capabilities' last answer per (agent, delegated), with the rules (the policy cache's
# tuple, by identity: a reload makes a new one) and the capabilities it was computed from: the
# same agent asks with the same inputs on every token (matching each capability against every
# rule cost ~3 µs a token). Bounded: many agents only empty it.
_standing: dict[tuple[str, bool], tuple[tuple[policies.PolicyRule, ...], list[str], list[str]]] = {}
_MAX_STANDING = 10_000


def standing_capabilities(agent: Agent, *, delegated: bool = False) -> list[str]:
    """Capabilities whose policy is standing (or that no policy governs) and whose policy lets
    them be used this way (on a user's behalf or not)."""
    rules = policies.rules_for_org(agent.org_id)
    capabilities = agent.capabilities
    known = _standing.get((agent.id, delegated))
    if known is not None and known[0] is rules and known[1] == capabilities:
        return list(known[2])
    standing = [
        c
        for c in capabilities
        if (r := policies.most_specific(rules, c)) is None
        or (r.mode == "standing" and r.refuses(delegated=delegated) is None)
    ]
    if len(_standing) >= _MAX_STANDING:
        _standing.clear()
    _standing[(agent.id, delegated)] = (rules, list(capabilities), standing)
    return list(standing)


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
        "assertion_jti": None,
        "claim_expires_at": None,
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
    counted: rate_limits.Counted | None = None  # the request, counted with the jti claim


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
    verified = verify_client(session, org_id=org_id, assertion=assertion)
    return grant_for(session, verified, org_id=org_id, scope=scope, resource=resource)


def verify_client(
    session: Session, *, org_id: str, assertion: str, claim: bool = True
) -> VerifiedAssertion:
    """The client assertion, verified for this org's token endpoint; a refusal is audited.
    `claim=False` leaves the jti's claim to the caller (app/identity/claim_batch.py)."""
    issuer = access_tokens.issuer_for(org_id)
    accepted = (access_tokens.token_endpoint_for(org_id), issuer)
    try:
        return verify_assertion(
            session,
            org_id=org_id,
            token=assertion,
            accepted_audiences=accepted,
            count_request=True,
            claim=claim,
        )
    except AssertionRejected as exc:
        audit_rejected(org_id, exc)
        raise


def audit_rejected(org_id: str, exc: AssertionRejected) -> None:
    audit_refusal(org_id, exc.description, actor=exc.agent_id or "unknown")


def grant_for(
    session: Session,
    verified: VerifiedAssertion,
    *,
    org_id: str,
    scope: str | None,
    resource: str | None,
) -> Grant:
    """Scope and audience for a verified client whose jti is claimed; a refusal is audited."""
    if not verified.claimed:  # every grant spends its assertion first: replays grant nothing
        raise RuntimeError("an assertion whose jti was not claimed grants nothing")
    agent = verified.agent
    try:
        granted = resolve_scope(agent, scope)
        audience = validate_resource(resource) or access_tokens.issuer_for(org_id)
        resources.require_registered(session, org_id=org_id, resource=resource)
    except (InvalidScope, InvalidGrant) as exc:
        audit_refusal(org_id, exc.description, actor=agent.id)
        raise
    return Grant(
        agent=agent, scope=granted, audience=audience, kid=verified.kid, counted=verified.counted
    )


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
    if (claim := replay.take_claim(grant.agent.id)) is not None:  # one row: the record keeps it
        record["assertion_jti"], record["claim_expires_at"] = claim["jti"], claim["expires_at"]
    row_writer.append(IssuedToken, record)  # batched: issuing never waits for a disk write
    _ACCESS_TOKENS_ISSUED.inc()
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

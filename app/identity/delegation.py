"""The RFC 8693 token exchange as delegation: an agent (the actor) gets a token to act for a user.

The subject token is a user's JWT from a `user` issuer this org trusts, or a delegated jitgate
token for a further hop. The actor authenticates with its client assertion, or with its own
ordinary access token as `actor_token`, and must hold `delegation.act`. The token issued says
`sub` = the user and `act` = the agent (earlier actors nested inside, most recent outermost);
its scope only narrows (the agent's standing capabilities ∩ the requested ∩ the previous hop's),
it ends no later than the subject token and within 15 minutes, and a chain has at most three
actors (app.identity.chain).
"""

import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.core.errors import InvalidGrant, InvalidScope, JitgateError
from app.identity import access_tokens, chain, subject_tokens, tokens
from app.identity.assertions import AssertionRejected, parse_compact, verify_assertion
from app.identity.subject_tokens import SubjectTokenRejected
from app.models import Agent
from app.resources import service as resources

DELEGATION_ACT = "delegation.act"
MAX_DELEGATED_LIFETIME = 15 * 60
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ACTOR_FIELDS = ("actor_token", "actor_token_type", "client_assertion", "client_assertion_type")


def has_actor(form: dict[str, str]) -> bool:
    return any(f in form for f in ACTOR_FIELDS)


@dataclass(frozen=True)
class Subject:
    """Who the token will be for, and what the previous hop allows (None on the first hop)."""

    user: str
    expires_at: float
    previous_act: dict[str, Any] | None = None
    previous_scope: frozenset[str] | None = None
    links: dict[str, Any] | None = None  # the next token's `delegation` claim, less this actor
    parent_jti: str | None = None


def _refused(rule: str, description: str, what: str = "actor_token") -> SubjectTokenRejected:
    return SubjectTokenRejected(rule, description, what=what)


# --- the actor -------------------------------------------------------------------------------


def _actor_by_assertion(session: Session, org_id: str, form: dict[str, str]) -> Agent:
    if form.get("client_assertion_type") != tokens.CLIENT_ASSERTION_TYPE:
        raise _refused("client_assertion_type", "must be " + tokens.CLIENT_ASSERTION_TYPE, "actor")
    issuer = access_tokens.issuer_for(org_id)
    accepted = (access_tokens.token_endpoint_for(org_id), issuer)
    verified = verify_assertion(
        session, org_id=org_id, token=form.get("client_assertion", ""), accepted_audiences=accepted
    )
    return verified.agent


def _actor_by_token(session: Session, org_id: str, form: dict[str, str]) -> Agent:
    """The actor's own ordinary access token: not a JIT token, not a delegated one, this org's."""
    if form.get("actor_token_type") != ACCESS_TOKEN_TYPE:
        raise _refused("actor_token_type", f"actor_token_type must be {ACCESS_TOKEN_TYPE}")
    try:
        claims = access_tokens.verify(form.get("actor_token", ""), org_id=org_id)
    except JitgateError as exc:
        raise _refused("access_token", exc.description) from exc
    if claims.get("jit") is not None:
        raise _refused("jit", "a JIT token is good for its one operation, not to act with")
    if chain.is_delegated(claims):
        raise _refused("act", "a delegated token cannot authenticate an actor")
    agent = session.get(Agent, claims["sub"])
    if agent is None or agent.org_id != org_id or agent.status != "active":
        raise _refused("agent", "the actor token's agent is not active")
    if not access_tokens.same_status_epoch(claims, agent.status_epoch):
        raise _refused("agent", "the actor token was issued before the agent was suspended")
    return agent


def authenticate_actor(session: Session, org_id: str, form: dict[str, str]) -> Agent:
    by_assertion = "client_assertion" in form or "client_assertion_type" in form
    by_token = "actor_token" in form or "actor_token_type" in form
    if by_assertion == by_token:
        raise _refused("actor", "give exactly one of client_assertion or actor_token", "actor")
    agent = (_actor_by_assertion if by_assertion else _actor_by_token)(session, org_id, form)
    if DELEGATION_ACT not in tokens.standing_capabilities(agent):
        raise _refused(DELEGATION_ACT, f"the agent lacks the capability {DELEGATION_ACT}", "actor")
    return agent


# --- the subject -----------------------------------------------------------------------------


def _user_of(claims: dict[str, Any], subject_claim: str) -> str:
    value = claims.get(subject_claim)
    if not isinstance(value, str) or not 0 < len(value) <= 320 or not value.isprintable():
        raise SubjectTokenRejected(subject_claim, f"{subject_claim} must name the user")
    if subject_claim == "email" and not _email_verified(claims.get("email_verified")):
        raise SubjectTokenRejected("email_verified", "the user's email is not verified")
    return value


def _email_verified(value: Any) -> bool:
    """Only a plain yes counts: true, or the string "true" some providers send (any case).
    Missing, false, "false", 1 or anything else is an email nobody vouched for."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _user_subject(session: Session, org_id: str, token: str, now: float) -> Subject:
    verified = subject_tokens.verify(session, org_id=org_id, token=token, kind="user", now=now)
    user = _user_of(verified.claims, verified.issuer.subject_claim)
    links = {"parents": [], "epochs": {}, "user_iss": verified.issuer.issuer}
    return Subject(user=user, expires_at=float(verified.claims["exp"]), links=links)


def _delegated_subject(org_id: str, token: str) -> Subject:
    """A delegated jitgate token (a further hop): live, for jitgate itself, not JIT."""
    try:
        claims = access_tokens.verify(token, org_id=org_id)
        chain.ensure_live(org_id, claims)
    except JitgateError as exc:
        raise SubjectTokenRejected("access_token", exc.description) from exc
    if claims.get("jit") is not None:
        raise SubjectTokenRejected("jit", "a JIT token cannot be delegated")
    if not chain.is_delegated(claims):
        raise SubjectTokenRejected("act", "an agent's own token is not a user's delegation")
    if len(chain.actors(claims)) >= chain.MAX_ACTORS:
        raise SubjectTokenRejected("actors", f"a chain has at most {chain.MAX_ACTORS} actors")
    return Subject(
        user=str(claims["sub"]),
        expires_at=float(claims["exp"]),
        previous_act=claims["act"],
        previous_scope=frozenset(str(claims.get("scope", "")).split()),
        links=chain.record_of(claims, claims["jti"]),
        parent_jti=claims["jti"],
    )


def verify_subject(session: Session, org_id: str, form: dict[str, str], now: float) -> Subject:
    if form.get("subject_token_type") == ACCESS_TOKEN_TYPE:
        return _delegated_subject(org_id, form["subject_token"])
    return _user_subject(session, org_id, form["subject_token"], now)


# --- the grant -------------------------------------------------------------------------------


def delegated_scope(agent: Agent, requested: str | None, subject: Subject) -> list[str]:
    """Only ever narrower: an item the previous hop did not hold is a widening, refused."""
    granted = tokens.resolve_scope(agent, requested, delegated=True)
    # The right to act for users is the agent's own, never something it holds for a user.
    granted = [s for s in granted if s != DELEGATION_ACT]
    previous = subject.previous_scope
    if previous is not None:
        widened = [s for s in granted if s not in previous]
        if widened and requested and requested.strip():
            raise InvalidScope(f"{', '.join(widened)} widens the previous hop's scope")
        granted = [s for s in granted if s in previous]
    # An empty scope is kept, as for the agent's own tokens: it still opens JIT requests.
    return granted


def _grant(agent: Agent, subject: Subject, scope: list[str], audience: str, now: float) -> Any:
    ttl = int(min(MAX_DELEGATED_LIFETIME, subject.expires_at - now))
    if ttl < 1:
        raise SubjectTokenRejected("exp", "the subject token has expired")
    act = chain.nested_act(agent.id, agent.name, subject.previous_act)
    links = dict(subject.links or {})
    links["epochs"] = {**links.get("epochs", {}), agent.id: agent.status_epoch}
    return tokens.Grant(
        agent=agent,
        scope=scope,
        audience=audience,
        kid="delegation",
        extra={"act": act, chain.DELEGATION: links},
        subject=subject.user,
        parent_jti=subject.parent_jti,
        ttl=ttl,
    )


def authenticate(
    session: Session, *, org_id: str, form: dict[str, str], credential: str
) -> tokens.Grant:
    """The whole exchange, reads only; every refusal is audited under the actor if known."""
    now = time.time()
    actor = "unknown"
    try:
        # The subject token's shape first: a malformed one is refused before any key fetch.
        with subject_tokens.as_subject_token():
            parse_compact(credential)
        agent = authenticate_actor(session, org_id, form)
        actor = agent.id
        subject = verify_subject(session, org_id, form, now)
        scope = delegated_scope(agent, form.get("scope"), subject)
        audience = tokens.validate_resource(form.get("resource"))
        resources.require_registered(session, org_id=org_id, resource=form.get("resource"))
        return _grant(agent, subject, scope, audience or access_tokens.issuer_for(org_id), now)
    except AssertionRejected as exc:
        tokens.audit_refusal(org_id, exc.description, actor=exc.agent_id or actor)
        raise
    except (SubjectTokenRejected, InvalidScope, InvalidGrant) as exc:
        tokens.audit_refusal(org_id, exc.description, actor=actor)
        raise

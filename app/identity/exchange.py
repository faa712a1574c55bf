"""The RFC 8693 token-exchange grant: a workload's platform JWT for its agent's access token,
or, when an actor authenticates too, a delegated token for a user (app.identity.delegation).

Workload federation has no client authentication: the platform's signature is the credential. The token must verify
with a `workload` issuer trusted by this org and match exactly one federation rule (issuer,
exact `sub`, exact claims); the agent of that rule gets its ordinary access token, marked
`federated: {iss, sub}`.
"""

import json
from typing import Any

from sqlmodel import Session, select

from app.core.errors import InvalidGrant, InvalidRequest, InvalidScope
from app.identity import access_tokens, delegation, subject_tokens, tokens
from app.identity.federation_models import FederationRule
from app.identity.subject_tokens import SubjectTokenRejected
from app.models import Agent
from app.resources import service as resources

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = delegation.JWT_TOKEN_TYPE
ACCESS_TOKEN_TYPE = delegation.ACCESS_TOKEN_TYPE


def subject_token(form: dict[str, str]) -> str:
    """The exchange's form rules, checked before any I/O."""
    if not form.get("subject_token"):
        raise InvalidRequest("subject_token is required for the token-exchange grant")
    kind = form.get("subject_token_type")
    if kind not in (JWT_TOKEN_TYPE, ACCESS_TOKEN_TYPE):
        raise InvalidRequest(f"subject_token_type must be {JWT_TOKEN_TYPE} or {ACCESS_TOKEN_TYPE}")
    if kind == ACCESS_TOKEN_TYPE and not delegation.has_actor(form):
        raise InvalidRequest(
            "an access_token subject is a further delegation hop: the acting agent "
            "authenticates too (actor_token or client_assertion)"
        )
    requested = form.get("requested_token_type")
    if requested not in (None, ACCESS_TOKEN_TYPE):
        raise InvalidRequest(f"requested_token_type can only be {ACCESS_TOKEN_TYPE}")
    return form["subject_token"]


def authenticate_exchange(
    session: Session, *, org_id: str, form: dict[str, str], credential: str
) -> tokens.Grant:
    """With an actor, delegation; without one, workload federation."""
    if delegation.has_actor(form):
        return delegation.authenticate(session, org_id=org_id, form=form, credential=credential)
    return authenticate_workload(session, org_id=org_id, form=form, credential=credential)


def _same(sent: Any, expected: Any) -> bool:
    """Exact JSON equality: `true` is not `1`, `1` is not `1.0` (Python's == says they are)."""
    return json.dumps(sent, sort_keys=True) == json.dumps(expected, sort_keys=True)


def matching_rule(session: Session, issuer_id: str, claims: dict[str, Any]) -> FederationRule:
    """Exactly one rule: same issuer, the exact subject, and every claim it names, exactly."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 512:
        raise SubjectTokenRejected("sub", "sub must be a string of at most 512 characters")
    rows = session.exec(
        select(FederationRule).where(
            FederationRule.issuer_id == issuer_id, FederationRule.subject == sub
        )
    ).all()
    matches = [r for r in rows if all(_same(claims.get(k), v) for k, v in r.claims.items())]
    if not matches:
        raise SubjectTokenRejected("federation", f"no federation rule matches sub {sub[:200]!r}")
    if len(matches) > 1:
        ids = ", ".join(r.id for r in matches)
        raise SubjectTokenRejected("federation", f"several federation rules match ({ids})")
    return matches[0]


def _federated_agent(session: Session, rule: FederationRule) -> Agent:
    agent = session.get(Agent, rule.agent_id)
    if agent is None or agent.status != "active":
        status = agent.status if agent is not None else "deleted"
        raise SubjectTokenRejected("agent", f"rule {rule.id}: the agent is {status}")
    return agent


def authenticate_workload(
    session: Session, *, org_id: str, form: dict[str, str], credential: str
) -> tokens.Grant:
    actor = "unknown"
    try:
        verified = subject_tokens.verify(session, org_id=org_id, token=credential, kind="workload")
        rule = matching_rule(session, verified.issuer.id, verified.claims)
        actor = rule.agent_id
        agent = _federated_agent(session, rule)
        scope = tokens.resolve_scope(agent, form.get("scope"))
        audience = tokens.validate_resource(form.get("resource"))
        # The same RFC 8707 rule as the other grants (review 2, L1).
        resources.require_registered(session, org_id=org_id, resource=form.get("resource"))
    except (SubjectTokenRejected, InvalidScope, InvalidGrant) as exc:
        tokens.audit_refusal(org_id, exc.description, actor=actor)
        raise
    federated = {"iss": verified.issuer.issuer, "sub": verified.claims["sub"]}
    return tokens.Grant(
        agent=agent,
        scope=scope,
        audience=audience or access_tokens.issuer_for(org_id),
        kid=f"federation:{rule.id}",
        extra={"federated": federated},
    )

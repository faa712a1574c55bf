"""Trusted issuers (per org, per kind) and workload federation rules: the admin's side."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, delete, select

from app.audit import service as audit
from app.core.errors import Conflict, NotFound, RuleViolation
from app.identity import agents
from app.identity.agent_keys import JwksFetchFailed, fetch_jwks, parse_jwks, validate_jwks_uri
from app.identity.federation_models import FederationRule, TrustedIssuer

KINDS = ("user", "workload")
SUBJECT_CLAIMS = ("sub", "email")
MAX_AUDIENCES = 10
MAX_RULE_CLAIMS = 10


def _validate_keys(jwks: Any, jwks_uri: Any) -> tuple[dict | None, str | None]:
    """Exactly one source of keys; a jwks_uri is fetched once now, so a typo fails here."""
    if (jwks is None) == (jwks_uri is None):
        raise RuleViolation("give exactly one of jwks or jwks_uri")
    if jwks is not None:
        return {"keys": [k.jwk for k in parse_jwks(jwks)]}, None
    uri = validate_jwks_uri(jwks_uri)
    try:
        fetch_jwks(uri)
    except JwksFetchFailed as exc:
        raise RuleViolation(str(exc)) from exc
    return None, uri


def _validate_audiences(audiences: list[str]) -> list[str]:
    if not 1 <= len(audiences) <= MAX_AUDIENCES:
        raise RuleViolation(f"audiences must list 1 to {MAX_AUDIENCES} values")
    if not all(0 < len(a) <= 2048 and a.isprintable() for a in audiences):
        raise RuleViolation("each audience must be printable text of at most 2048 characters")
    return audiences


def create_issuer(session: Session, *, org_id: str, actor: str, **body: Any) -> TrustedIssuer:
    if body["kind"] not in KINDS:
        raise RuleViolation(f"kind must be one of {list(KINDS)}")
    if body.get("subject_claim", "sub") not in SUBJECT_CLAIMS:
        raise RuleViolation(f"subject_claim must be one of {list(SUBJECT_CLAIMS)}")
    issuer = body["issuer"]
    if not 0 < len(issuer) <= 2048 or not issuer.isprintable():
        raise RuleViolation("issuer must be printable text of at most 2048 characters")
    # Keys first: a jwks_uri fetch may take seconds, and the first query below takes SQLite's
    # write lock for the whole transaction; fetching under it stalls every org's writes.
    jwks, uri = _validate_keys(body.get("jwks"), body.get("jwks_uri"))
    taken = select(TrustedIssuer.id).where(
        TrustedIssuer.org_id == org_id,
        TrustedIssuer.issuer == issuer,
        TrustedIssuer.kind == body["kind"],
    )
    if session.exec(taken).first():
        raise Conflict(f"{issuer} is already a trusted {body['kind']} issuer")
    row = TrustedIssuer(
        org_id=org_id,
        issuer=issuer,
        kind=body["kind"],
        name=body.get("name"),
        audiences=_validate_audiences(body["audiences"]),
        subject_claim=body.get("subject_claim") or "sub",
        jwks=jwks,
        jwks_uri=uri,
    )
    session.add(row)
    audit.record_success(
        session,
        org_id,
        actor,
        "issuer.create",
        row.id,
        details={"issuer": issuer, "kind": row.kind},
    )
    return row


def list_issuers(session: Session, *, org_id: str) -> Sequence[TrustedIssuer]:
    stmt = select(TrustedIssuer).where(TrustedIssuer.org_id == org_id)
    return session.exec(stmt.order_by(col(TrustedIssuer.created_at))).all()


def get_issuer(session: Session, *, org_id: str, issuer_id: str) -> TrustedIssuer:
    plausible = len(issuer_id) <= 64 and issuer_id.isprintable()
    row = session.get(TrustedIssuer, issuer_id) if plausible else None
    if row is None or row.org_id != org_id:
        raise NotFound(f"no trusted issuer {issuer_id[:64]} in this organization")
    return row


def issuer_id_for(session: Session, *, org_id: str, issuer: str, kind: str) -> str:
    """The id of the org's issuer named by its id (`tis_…`, passed through for the caller's own
    checks) or by its URL, as an operator remembers it (a URL may be trusted for both kinds)."""
    if issuer.startswith("tis_"):
        return issuer
    stmt = select(TrustedIssuer.id).where(
        TrustedIssuer.org_id == org_id, TrustedIssuer.issuer == issuer, TrustedIssuer.kind == kind
    )
    found = session.exec(stmt).first() if len(issuer) <= 2048 else None
    if found is None:
        raise NotFound(f"no trusted {kind} issuer {issuer[:2048]} in this organization")
    return found


def delete_issuer(session: Session, *, org_id: str, issuer_id: str, actor: str) -> None:
    """Its federation rules go with it: nothing can be exchanged through it afterwards."""
    row = get_issuer(session, org_id=org_id, issuer_id=issuer_id)
    session.execute(delete(FederationRule).where(col(FederationRule.issuer_id) == row.id))
    session.delete(row)
    audit.record_success(
        session, org_id, actor, "issuer.delete", row.id, details={"issuer": row.issuer}
    )


def create_rule(
    session: Session,
    *,
    org_id: str,
    agent_id: str,
    actor: str,
    issuer_id: str,
    subject: str,
    claims: dict[str, Any] | None,
) -> FederationRule:
    agent = agents.get(session, org_id=org_id, agent_id=agent_id)
    issuer = get_issuer(session, org_id=org_id, issuer_id=issuer_id)
    if issuer.kind != "workload":
        raise RuleViolation("federation rules need a workload issuer (this one is for users)")
    if not 0 < len(subject) <= 512 or not subject.isprintable():
        raise RuleViolation("subject must be printable text of at most 512 characters")
    claims = claims or {}
    if len(claims) > MAX_RULE_CLAIMS or not all(
        isinstance(v, str | int | bool) for v in claims.values()
    ):
        raise RuleViolation(f"claims: at most {MAX_RULE_CLAIMS} exact string/number/bool values")
    rule = FederationRule(
        org_id=org_id, agent_id=agent.id, issuer_id=issuer.id, subject=subject, claims=claims
    )
    session.add(rule)
    details = {"agent_id": agent.id, "issuer_id": issuer.id, "subject": subject}
    audit.record_success(session, org_id, actor, "federation.create", rule.id, details=details)
    return rule


def list_rules(session: Session, *, org_id: str, agent_id: str) -> Sequence[FederationRule]:
    agent = agents.get(session, org_id=org_id, agent_id=agent_id)
    stmt = select(FederationRule).where(FederationRule.agent_id == agent.id)
    return session.exec(stmt.order_by(col(FederationRule.created_at))).all()


def list_org_rules(session: Session, *, org_id: str) -> Sequence[FederationRule]:
    """Every federation rule of the org, oldest first (the portal lists them on one page)."""
    stmt = select(FederationRule).where(FederationRule.org_id == org_id)
    return session.exec(stmt.order_by(col(FederationRule.created_at))).all()


def delete_rule(session: Session, *, org_id: str, agent_id: str, rule_id: str, actor: str) -> None:
    agent = agents.get(session, org_id=org_id, agent_id=agent_id)
    rule = session.get(FederationRule, rule_id) if len(rule_id) <= 64 else None
    if rule is None or rule.agent_id != agent.id:
        raise NotFound(f"no federation rule {rule_id[:64]} for this agent")
    session.delete(rule)
    audit.record_success(
        session, org_id, actor, "federation.delete", rule.id, details={"agent_id": agent.id}
    )

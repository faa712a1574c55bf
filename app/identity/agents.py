"""The agent registry: registration, updates, key rotation, removal."""

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.authz import catalog as permissions
from app.authz import check as authz
from app.core import validation
from app.core.columns import utcnow
from app.core.db import add_if_unique, after_commit
from app.core.errors import Conflict, NotFound, RuleViolation
from app.identity import assertions, rate_limits
from app.identity.agent_keys import (
    JwksFetchFailed,
    PublicKey,
    fetch_jwks,
    parse_jwks,
    validate_jwks_uri,
)
from app.models import Agent, AgentKey

AGENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
STATUSES = ("active", "suspended")
AUDITED_CHANGES = ("capabilities", "status", "owner", "budget")
# Control characters other than line breaks and tabs (PostgreSQL refuses NUL in text columns).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _keys_from(jwks: Any, jwks_uri: Any) -> tuple[list[PublicKey], str | None]:
    if (jwks is None) == (jwks_uri is None):
        raise RuleViolation("give exactly one of jwks or jwks_uri")
    if jwks is not None:
        return parse_jwks(jwks), None
    uri = validate_jwks_uri(jwks_uri)
    try:
        return fetch_jwks(uri), uri
    except JwksFetchFailed as exc:
        raise RuleViolation(str(exc)) from exc


def _validate_owner(owner: Any) -> str | None:
    if owner is None:
        return None
    return validation.email(owner, "owner must be the email address of the responsible human")


def _validate_description(description: Any) -> str | None:
    if description is not None and CONTROL.search(description):
        raise RuleViolation("description must not contain control characters")
    return description or None


def register(
    session: Session,
    *,
    org_id: str,
    name: str,
    capabilities: Any,
    jwks: Any = None,
    jwks_uri: Any = None,
    owner: Any = None,
    description: str | None = None,
    actor: str,
) -> tuple[Agent, list[str]]:
    if not isinstance(name, str) or not AGENT_NAME.match(name):
        raise RuleViolation("name must match [a-z0-9][a-z0-9-]{1,62}")
    caps = permissions.validate_capabilities(capabilities)
    keys, uri = _keys_from(jwks, jwks_uri)
    agent = Agent(
        org_id=org_id,
        name=name,
        capabilities=caps,
        jwks_uri=uri,
        owner=_validate_owner(owner),
        description=_validate_description(description),
    )
    if not add_if_unique(session, agent):
        raise Conflict(f"an agent named {name!r} already exists in this organization")
    if uri is None:
        _store_keys(session, agent.id, keys)
    permissions.ensure_in_catalog(session, org_id=org_id, names=caps, source="capability")
    details = {"name": name, "capabilities": caps, "key_ids": [k.kid for k in keys]}
    audit.record_success(session, org_id, actor, "agent.register", agent.id, details=details)
    return agent, [k.kid for k in keys]


def _store_keys(session: Session, agent_id: str, keys: Sequence[PublicKey]) -> None:
    for key in keys:
        session.add(AgentKey(agent_id=agent_id, kid=key.kid, alg=key.alg, jwk=key.jwk))
    session.flush()


def get(session: Session, *, org_id: str, agent_id: str) -> Agent:
    # Path input: a NUL byte or an overlong id must not reach PostgreSQL (DataError).
    plausible = len(agent_id) <= 64 and agent_id.isprintable()
    agent = session.get(Agent, agent_id) if plausible else None
    if agent is None or agent.org_id != org_id or agent.status == "deleted":
        raise NotFound(f"no agent {agent_id} in this organization")
    return agent


def key_ids(session: Session, agent: Agent) -> list[str]:
    stmt = select(AgentKey.kid).where(AgentKey.agent_id == agent.id).order_by(col(AgentKey.id))
    return list(session.exec(stmt).all())


def list_agents(session: Session, *, org_id: str) -> Sequence[Agent]:
    stmt = select(Agent).where(Agent.org_id == org_id, Agent.status != "deleted")
    return session.exec(stmt.order_by(Agent.name)).all()


def _forget_after_commit(session: Session, agent: Agent) -> None:
    """Once the change commits, drop this process's cached view of the agent (other processes
    follow within decision_cache_seconds). Every change here calls it, so no caller can forget."""
    org_id, agent_id = agent.org_id, agent.id

    def forget() -> None:
        authz.invalidate_agent(org_id, agent_id)
        assertions.forget_agent(agent_id)

    after_commit(session, forget)


def update(
    session: Session,
    *,
    org_id: str,
    agent_id: str,
    changes: dict[str, Any],
    actor: str,
    now: datetime | None = None,
) -> Agent:
    agent = get(session, org_id=org_id, agent_id=agent_id)
    if "capabilities" in changes:
        agent.capabilities = permissions.validate_capabilities(changes["capabilities"])
        permissions.ensure_in_catalog(
            session, org_id=org_id, names=agent.capabilities, source="capability"
        )
    if "status" in changes:
        if changes["status"] not in STATUSES:
            raise RuleViolation("status is 'active' or 'suspended'")
        if agent.status != "active" and changes["status"] == "active":
            # Reactivation starts a new epoch: tokens issued before the suspension carry the
            # old one and stay dead. (While suspended they still authenticate, so that each
            # check is answered, and audited, as a denial for a suspended agent.)
            agent.status_epoch += 1
        agent.status = changes["status"]
        if agent.status != "active":
            _withdraw_jit(session, agent, "the agent was suspended")
    if "owner" in changes:
        agent.owner = _validate_owner(changes["owner"])
    if "description" in changes:
        agent.description = _validate_description(changes["description"])
    if "budget" in changes:
        agent.budget = rate_limits.merge_overrides(agent.budget, changes["budget"])
    agent.updated_at = now or utcnow()
    session.add(agent)
    session.flush()
    details = {k: v for k, v in changes.items() if k in AUDITED_CHANGES}
    audit.record_success(session, org_id, actor, "agent.update", agent.id, details=details)
    _forget_after_commit(session, agent)
    return agent


def rotate_keys(
    session: Session, *, org_id: str, agent_id: str, jwks: Any, jwks_uri: Any, actor: str
) -> tuple[Agent, list[str]]:
    # Keys first, before any query takes SQLite's write lock (a jwks_uri fetch may be slow).
    keys, uri = _keys_from(jwks, jwks_uri)
    agent = get(session, org_id=org_id, agent_id=agent_id)
    session.execute(delete(AgentKey).where(col(AgentKey.agent_id) == agent.id))
    agent.jwks_uri = uri
    if uri is None:
        _store_keys(session, agent.id, keys)
    agent.updated_at = utcnow()
    session.add(agent)
    details = {"key_ids": [k.kid for k in keys]}
    audit.record_success(session, org_id, actor, "agent.rotate_keys", agent.id, details=details)
    _forget_after_commit(session, agent)
    return agent, [k.kid for k in keys]


def _withdraw_jit(session: Session, agent: Agent, reason: str) -> None:
    from app.jit import revocation  # the JIT engine builds on this module

    session.flush()
    revocation.withdraw_for_agent(session, org_id=agent.org_id, agent_id=agent.id, reason=reason)


def remove(session: Session, *, org_id: str, agent_id: str, actor: str) -> None:
    """Suspend-and-forget: keys go away so no new token can ever be issued."""
    agent = get(session, org_id=org_id, agent_id=agent_id)
    session.execute(delete(AgentKey).where(col(AgentKey.agent_id) == agent.id))
    agent.status = "deleted"
    _withdraw_jit(session, agent, "the agent was deleted")
    agent.name = f"deleted-{agent.id[-12:]}"[:63]
    agent.updated_at = utcnow()
    session.add(agent)
    audit.record_success(session, org_id, actor, "agent.delete", agent.id)
    _forget_after_commit(session, agent)

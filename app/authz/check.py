"""Permission decisions for /authz/check, /authz/check-bulk and the Ask API (one code path)."""

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from app.audit import service as audit
from app.authz import policies
from app.authz.catalog import PERMISSION
from app.core import metrics
from app.core.cache import TtlCache
from app.core.db import read_session
from app.core.errors import Forbidden, NotFound
from app.core.ids import random_hex
from app.models import Agent
from app.settings import get_settings

# The capability that lets an agent ask about other agents (a gateway or orchestrator that
# checks on behalf of the agents it runs). Without it an agent may only ask about itself.
CHECK_OTHERS = "authz.check_others"
OTHERS_REFUSED = f"checking another subject needs the capability {CHECK_OTHERS}"


@dataclass(frozen=True)
class AgentFacts:
    agent_id: str
    name: str
    status: str
    capabilities: frozenset[str]
    status_epoch: int = 0
    requests_per_minute: int | None = None  # the agent's own rate limit, if it has one


@dataclass
class Decision:
    allowed: bool
    reason: str
    permission: str
    subject: str
    jit_required: bool = False
    policy_id: str | None = None
    mode: str | None = None
    decision_id: str = field(default_factory=lambda: "dec_" + random_hex(10))
    extra: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        body = {
            "allowed": self.allowed,
            "reason": self.reason,
            "permission": self.permission,
            "subject": self.subject,
            "decision_id": self.decision_id,
            "jit_required": self.jit_required,
            "policy_id": self.policy_id,
        }
        return {**body, **self.extra}


_agents: TtlCache[AgentFacts | None] = TtlCache(lambda: get_settings().decision_cache_seconds)


def invalidate_agent(org_id: str, agent_id: str) -> None:
    _agents.invalidate((org_id, agent_id))


def agent_facts(org_id: str, agent_id: str) -> AgentFacts | None:
    """The agent's status and capabilities (cached; read on a session of its own)."""

    def load() -> AgentFacts | None:
        with read_session() as session:
            agent = session.get(Agent, agent_id)
        if agent is None or agent.org_id != org_id:
            return None
        return AgentFacts(
            agent.id,
            agent.name,
            agent.status,
            frozenset(agent.capabilities),
            agent.status_epoch,
            (agent.budget or {}).get("requests_per_minute"),
        )

    # Keyed by org too: an id asked about from another org must never see, or displace, the
    # entry its own org uses.
    return _agents.get((org_id, agent_id), load)


def is_caller(caller: AgentFacts, subject: str | None) -> bool:
    return subject is None or subject in (caller.agent_id, f"agent:{caller.name}")


def subject_for(
    org_id: str, caller: AgentFacts, scope: frozenset[str], subject: str | None
) -> AgentFacts:
    """The agent a check is about. Another agent needs CHECK_OTHERS, decided by the usual rules
    (registered, not denied or jit by policy, in the token's scope); the refusal comes before
    any lookup and reads the same whether that agent exists, so it reveals nothing."""
    if is_caller(caller, subject):
        return caller
    own = decide(org_id=org_id, subject=caller, permission=CHECK_OTHERS, token_scope=scope)
    if not own.allowed:
        raise Forbidden(OTHERS_REFUSED)
    other = resolve_subject(org_id, caller, subject)
    if other is None:
        raise NotFound("no such subject in this organization")
    return other


def resolve_subject(org_id: str, caller: AgentFacts, subject: str | None) -> AgentFacts | None:
    if subject is None or is_caller(caller, subject):
        return caller
    return find_subject(org_id, subject)


def find_subject(org_id: str, subject: str) -> AgentFacts | None:
    """An agent of this org by id or as agent:<name>; None when there is none."""
    if (
        not subject.isprintable() or len(subject) > 200
    ):  # a NUL byte makes PostgreSQL raise DataError
        return None
    if subject.startswith("agent:"):
        name = subject.removeprefix("agent:")
        with read_session() as session:
            agent_id = session.exec(
                select(Agent.id).where(Agent.org_id == org_id, Agent.name == name)
            ).first()
        return agent_facts(org_id, agent_id) if agent_id else None
    return agent_facts(org_id, subject)


def decide(
    *,
    org_id: str,
    subject: AgentFacts,
    permission: str,
    token_scope: frozenset[str] | None,
    on_behalf_of: str | None = None,
) -> Decision:
    """The rules, in order: a live agent, a registered capability, the policy mode and its
    delegation setting, the token scope.

    token_scope is None when deciding for another agent than the caller (no token in hand).
    on_behalf_of is the user of a delegated token: the agent's capabilities and policies still
    decide, and the answer names the user.
    """
    extra = {"on_behalf_of": on_behalf_of} if on_behalf_of is not None else {}

    def answer(allowed: bool, reason: str, **kw: Any) -> Decision:
        return Decision(allowed, reason, permission, subject.agent_id, extra=dict(extra), **kw)

    if not isinstance(permission, str) or not PERMISSION.match(permission):
        return answer(False, "not a valid permission name")
    if subject.status != "active":
        return answer(False, f"the agent is {subject.status}")
    if permission not in subject.capabilities:
        return answer(False, "not among the agent's registered capabilities")
    rule = policies.mode_for(org_id, permission)
    pid, mode = (rule.policy_id, rule.mode) if rule else (None, "standing")
    if mode == "deny":
        return answer(False, f"denied by policy {pid}", policy_id=pid, mode=mode)
    if rule is not None and (why := rule.refuses(delegated=on_behalf_of is not None)):
        return answer(False, why, policy_id=pid, mode=mode)
    if mode == "jit":
        return answer(
            False,
            "requires just-in-time approval: POST /jit/requests",
            jit_required=True,
            policy_id=pid,
            mode=mode,
        )
    if token_scope is not None and permission not in token_scope:
        return answer(
            False,
            "not in the access token's scope; request a token with this scope",
            policy_id=pid,
            mode=mode,
        )
    reason = f"granted by policy {pid}" if pid else "a standing capability (no policy restricts it)"
    return answer(True, reason, policy_id=pid, mode=mode)


def audit_decision(
    org_id: str,
    actor: str,
    decision: Decision,
    *,
    action: str = "authz.check",
    details: dict[str, Any] | None = None,
) -> None:
    metrics.decision(action, decision.allowed, decision.jit_required)
    audit.record_later(
        audit.EventIn(
            org_id=org_id,
            actor=actor,
            action=action,
            target=decision.permission,
            outcome="allowed" if decision.allowed else "denied",
            reason=decision.reason,
            details={
                "decision_id": decision.decision_id,
                "subject": decision.subject,
                "jit_required": decision.jit_required,
                **(details or {}),
            },
        )
    )

"""Policies: how each permission is granted (standing, jit, deny); the most specific pattern wins."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.approvers.service import DELETED
from app.audit import service as audit
from app.authz import catalog as permissions
from app.core.cache import TtlCache
from app.core.columns import utcnow
from app.core.db import add_if_unique, after_commit, read_session
from app.core.durations import parse_duration
from app.core.errors import Conflict, NotFound, RuleViolation
from app.models import Agent, Approver, Policy
from app.settings import get_settings
from notifiers import registry as notifier_registry

MODES = ("standing", "jit", "deny")
# Whether a permission may be used on a user's behalf (with a delegated token): only so
# (required), never (forbidden), or either way (allowed, the default).
DELEGATION_MODES = ("allowed", "required", "forbidden")
MAX_TOKEN_TTL_CAP = 3600
MAX_PENDING_TIMEOUT = 7 * 86400


@dataclass(frozen=True)
class PolicyRule:
    """The hot-path view of a policy (no ORM object, safe to share between threads)."""

    policy_id: str
    pattern: str
    mode: str
    delegation: str = "allowed"

    def refuses(self, *, delegated: bool) -> str | None:
        """Why this rule's delegation setting refuses the use, or None."""
        if self.delegation == "required" and not delegated:
            return f"usable only on a user's behalf (a delegated token), by policy {self.policy_id}"
        if self.delegation == "forbidden" and delegated:
            return f"never usable on a user's behalf, by policy {self.policy_id}"
        return None


def _specificity(pattern: str) -> tuple[int, int]:
    # An exact name beats any wildcard; a longer prefix beats a shorter one.
    if not pattern.endswith("*"):
        return (2, len(pattern))
    return (1, len(pattern))


def matches(pattern: str, permission: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return permission.startswith(pattern[:-1])
    return pattern == permission


def most_specific(rules: Sequence[PolicyRule], permission: str) -> PolicyRule | None:
    candidates = [r for r in rules if matches(r.pattern, permission)]
    return max(candidates, key=lambda r: _specificity(r.pattern), default=None)


@dataclass(frozen=True)
class Explanation:
    """Why a permission gets its mode: the rule that applies and the matching ones it beat."""

    permission: str
    winner: PolicyRule | None  # None: no policy matches, so a held capability is standing
    beaten: tuple[tuple[PolicyRule, str], ...]  # (rule, why it lost), most specific first

    @property
    def mode(self) -> str:
        return self.winner.mode if self.winner else "standing"


def explain(rules: Sequence[PolicyRule], permission: str) -> Explanation:
    """most_specific, with its reasons: the same choice, so the page cannot disagree with it."""
    winner = most_specific(rules, permission)
    others = [r for r in rules if r is not winner and matches(r.pattern, permission)]
    others.sort(key=lambda r: _specificity(r.pattern), reverse=True)
    return Explanation(permission, winner, tuple((r, _lost_because(winner, r)) for r in others))


def _lost_because(winner: PolicyRule | None, loser: PolicyRule) -> str:
    if winner is None:  # cannot happen: a matching rule exists, so there is a winner
        return "no rule applies"
    if _specificity(winner.pattern)[0] > _specificity(loser.pattern)[0]:
        return f"the exact name {winner.pattern} beats any pattern"
    return f"the longer prefix {winner.pattern} beats {loser.pattern}"


_rules_cache: TtlCache[tuple[PolicyRule, ...]] = TtlCache(
    lambda: get_settings().decision_cache_seconds
)


def rules_for_org(org_id: str) -> tuple[PolicyRule, ...]:
    """The org's policies as (pattern, mode) rules, cached; read on a session of its own."""

    def load() -> tuple[PolicyRule, ...]:
        with read_session() as session:
            rows = session.exec(select(Policy).where(Policy.org_id == org_id)).all()
        return tuple(PolicyRule(r.id, r.permission, r.mode, r.delegation) for r in rows)

    return _rules_cache.get(org_id, load)


def mode_for(org_id: str, permission: str) -> PolicyRule | None:
    return most_specific(rules_for_org(org_id), permission)


def resolve(session: Session, *, org_id: str, permission: str) -> Policy | None:
    """The full policy row that governs a permission (None: standing by default)."""
    rows = session.exec(select(Policy).where(Policy.org_id == org_id)).all()
    rule = most_specific([PolicyRule(r.id, r.permission, r.mode) for r in rows], permission)
    return next((r for r in rows if rule and r.id == rule.policy_id), None)


def explain_for(session: Session, *, org_id: str, permission: str) -> Explanation:
    """The explanation of a permission's mode from the stored policies (not the cache)."""
    permissions.validate_permission(permission)
    rows = session.exec(select(Policy).where(Policy.org_id == org_id)).all()
    return explain([PolicyRule(r.id, r.permission, r.mode) for r in rows], permission)


def _validate_fields(session: Session, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    mode = body.get("mode")
    if mode not in MODES:
        raise RuleViolation("mode is one of standing, jit, deny")
    approvers = body.get("approvers") or []
    groups = body.get("groups") or []
    if not isinstance(approvers, list) or not isinstance(groups, list):
        raise RuleViolation("approvers and groups are lists")
    # A deleted approver is kept for the audit trail only; no policy may name it again.
    stmt = select(Approver.id).where(Approver.org_id == org_id, Approver.status != DELETED)
    known = set(session.exec(stmt).all())
    unknown = [a for a in approvers if a not in known]
    if unknown:
        raise RuleViolation(f"unknown approvers: {unknown}")
    required = body.get("approvals_required", 1)
    if isinstance(required, bool) or not isinstance(required, int) or not 1 <= required <= 10:
        raise RuleViolation("approvals_required is an integer from 1 to 10")
    channels = body.get("channels") or ["websocket", "log"]
    known = notifier_registry.channels()  # the registry is the one list of channels
    if not isinstance(channels, list) or any(c not in known for c in channels):
        raise RuleViolation(f"channels are among {known}")
    if mode == "jit" and not approvers and not groups and not body.get("auto_approve"):
        raise RuleViolation("a jit policy needs approvers or groups (or auto_approve)")
    delegation = body.get("delegation", "allowed")
    if delegation not in DELEGATION_MODES:
        raise RuleViolation(f"delegation is one of {', '.join(DELEGATION_MODES)}")
    return {
        "mode": mode,
        "delegation": delegation,
        "approvers": approvers,
        "groups": [str(g) for g in groups],
        "approvals_required": required,
        "max_token_ttl": parse_duration(
            body.get("max_token_ttl", 600), field="max_token_ttl", maximum=MAX_TOKEN_TTL_CAP
        ),
        "pending_timeout": parse_duration(
            body.get("pending_timeout", 900),
            field="pending_timeout",
            minimum=5,
            maximum=MAX_PENDING_TIMEOUT,
        ),
        "channels": list(dict.fromkeys(channels)),
        "channel_settings": notifier_registry.read_settings(body),
        "allow_self_approval": bool(body.get("allow_self_approval", False)),
        "auto_approve": bool(body.get("auto_approve", False)),
    }


# Columns a policy's public form leaves out: its ids, and the channels' settings, which the
# registry shows flat as the policy body names them (the legacy columns are never read).
_NOT_SHOWN = {"id", "org_id", "channel_settings", *notifier_registry.setting_names()}


def public(policy: Policy) -> dict[str, Any]:
    """The policy as the API and the CLI show it."""
    body = policy.model_dump(exclude=_NOT_SHOWN)
    return {
        "policy_id": policy.id,
        **body,
        **notifier_registry.shown_settings(policy.channel_settings),
    }


def create(session: Session, *, org_id: str, body: dict[str, Any], actor: str) -> Policy:
    pattern = permissions.validate_pattern(body.get("permission"))
    policy = Policy(org_id=org_id, permission=pattern, **_validate_fields(session, org_id, body))
    if not add_if_unique(session, policy):
        raise Conflict(f"a policy for {pattern!r} exists already; PUT /policies/{{id}} changes it")
    # Patterns are listed too; the Ask interpreter never maps a phrase to a wildcard.
    permissions.ensure_in_catalog(session, org_id=org_id, names=[pattern], source="policy")
    _written(session, policy, "policy.create", actor)
    return policy


def get(session: Session, *, org_id: str, policy_id: str) -> Policy:
    policy = session.get(Policy, policy_id)
    if policy is None or policy.org_id != org_id:
        raise NotFound(f"no policy {policy_id} in this organization")
    return policy


def replace(
    session: Session, *, org_id: str, policy_id: str, body: dict[str, Any], actor: str
) -> Policy:
    policy = get(session, org_id=org_id, policy_id=policy_id)
    if body.get("permission", policy.permission) != policy.permission:
        raise RuleViolation("a policy's permission pattern cannot change; create another policy")
    for name, value in _validate_fields(session, org_id, body).items():
        setattr(policy, name, value)
    policy.updated_at = utcnow()
    session.add(policy)
    session.flush()
    _written(session, policy, "policy.update", actor)
    return policy


def delete(session: Session, *, org_id: str, policy_id: str, actor: str) -> None:
    policy = get(session, org_id=org_id, policy_id=policy_id)
    session.delete(policy)
    session.flush()
    _written(session, policy, "policy.delete", actor, details=False)


def _written(
    session: Session, policy: Policy, action: str, actor: str, *, details: bool = True
) -> None:
    """After any write: the org's cached rules are dropped once it commits, and it is audited."""
    org_id = policy.org_id
    after_commit(session, lambda: _rules_cache.invalidate(org_id))
    shown = {"permission": policy.permission, "mode": policy.mode, "delegation": policy.delegation}
    audit.record_success(
        session, org_id, actor, action, policy.id, details=shown if details else None
    )


def list_policies(session: Session, *, org_id: str) -> Sequence[Policy]:
    return session.exec(
        select(Policy).where(Policy.org_id == org_id).order_by(Policy.permission)
    ).all()


def warnings_for(session: Session, *, org_id: str, pattern: str) -> list[str]:
    """What looks like a mistake in an accepted policy: a pattern that matches no permission
    any agent holds or the catalog knows (`paymnets.authorise`) governs nothing today."""
    known = {  # a policy's own pattern is added to the catalog: that entry proves nothing
        entry.permission
        for entry in permissions.catalog(session, org_id=org_id)
        if entry.source != "policy"
    }
    for agent in session.exec(select(Agent).where(Agent.org_id == org_id)).all():
        known.update(agent.capabilities)
    if any(matches(pattern, permission) for permission in known):
        return []
    return [
        f"no agent holds a permission matching {pattern!r} and the catalog has none: "
        "the policy governs nothing yet (a typo?)"
    ]

"""The approver lifecycle: change, disable, delete, rotate the token, and what a change leaves short.

A deleted approver is soft-deleted: the row stays (status `deleted`) so past decisions and the
audit trail keep a name, but its token hash is replaced by one nobody holds and its Slack id is
cleared, so no channel can ever map to it again. Each change is an audit event; after it
commits, the approver's open dashboard sockets are told to re-check their session (they close).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from app.approvers.service import ACTIVE, DELETED, DISABLED, GROUP, CreatedApprover, eligible
from app.approvers.service import names as policy_names
from app.audit import service as audit
from app.core import events
from app.core.db import after_commit
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.secrets import APPROVER_TOKEN_PREFIX, hash_token, new_secret_token
from app.models import Approver, Policy

SETTABLE_STATUSES = (ACTIVE, DISABLED)
FIELDS = ("name", "groups", "slack_user_id", "status")


@dataclass(frozen=True)
class Changed:
    approver: Approver
    warnings: list[str] = field(default_factory=list)


def approver_topic(approver_id: str) -> str:
    """Where an approver's open dashboard sockets listen for "your standing changed"."""
    return f"approver:{approver_id}"


def get(session: Session, *, org_id: str, approver_id: str) -> Approver:
    """Any approver of the org, deleted ones included (their ids appear in the audit trail)."""
    approver = session.get(Approver, approver_id)
    if approver is None or approver.org_id != org_id:
        raise NotFound(f"no approver {approver_id} in this organization")
    return approver


def _living(session: Session, org_id: str, approver_id: str) -> Approver:
    approver = get(session, org_id=org_id, approver_id=approver_id)
    if approver.status == DELETED:
        raise Conflict(f"approver {approver_id} is deleted; add a new approver instead")
    return approver


def _validate(changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise RuleViolation(f"only {', '.join(FIELDS)} can change, not {sorted(unknown)}")
    if "status" in changes and changes["status"] not in SETTABLE_STATUSES:
        raise RuleViolation("status is active or disabled (DELETE /approvers/{id} deletes)")
    if any(not GROUP.match(g) for g in changes.get("groups") or []):
        raise RuleViolation("groups are short lowercase names ([a-z0-9_.-])")


def update(
    session: Session, *, org_id: str, approver_id: str, changes: dict[str, Any], actor: str
) -> Changed:
    _validate(changes)
    approver = _living(session, org_id, approver_id)
    named_before = _policies_naming(session, approver)
    if "groups" in changes:
        changes = {**changes, "groups": sorted(set(changes["groups"] or []))}
    for name, value in changes.items():
        setattr(approver, name, value)
    action = "approver.disable" if changes.get("status") == DISABLED else "approver.update"
    return _saved(session, approver, named_before, action, actor, details=changes)


def delete(session: Session, *, org_id: str, approver_id: str, actor: str) -> Changed:
    approver = _living(session, org_id, approver_id)
    named_before = _policies_naming(session, approver)
    approver.status = DELETED
    approver.token_hash = hash_token(new_secret_token(APPROVER_TOKEN_PREFIX))  # nobody holds it
    approver.slack_user_id = None
    return _saved(session, approver, named_before, "approver.delete", actor)


def rotate_token(session: Session, *, org_id: str, approver_id: str, actor: str) -> CreatedApprover:
    """A new token, shown once; the old one and every dashboard session opened with it end."""
    approver = _living(session, org_id, approver_id)
    token = new_secret_token(APPROVER_TOKEN_PREFIX)
    approver.token_hash = hash_token(token)
    _saved(session, approver, [], "approver.rotate_token", actor)
    return CreatedApprover(approver=approver, api_token=token)


def _saved(
    session: Session,
    approver: Approver,
    named_before: Sequence[Policy],
    action: str,
    actor: str,
    details: dict[str, Any] | None = None,
) -> Changed:
    session.add(approver)
    session.flush()
    audit.record_success(session, approver.org_id, actor, action, approver.id, details=details)
    topic = approver_topic(approver.id)
    after_commit(session, lambda: events.publish(topic, {"type": "approver.changed"}))
    return Changed(approver, short_policies(session, named_before))


def _policies_naming(session: Session, approver: Approver) -> list[Policy]:
    rows = session.exec(select(Policy).where(Policy.org_id == approver.org_id)).all()
    return [p for p in rows if policy_names(p, approver)]


def short_policies(session: Session, policies: Sequence[Policy]) -> list[str]:
    """A warning for each jit policy left with fewer active approvers than it needs."""
    warnings = []
    for policy in policies:
        if policy.mode != "jit" or policy.auto_approve:
            continue
        count = len(eligible(session, policy))
        if count < policy.approvals_required:
            warnings.append(
                f"policy {policy.id} ({policy.permission}) now has {count} active approver(s) "
                f"but approvals_required is {policy.approvals_required}: its requests cannot be "
                "approved until an admin adds approvers or lowers approvals_required"
            )
    return warnings

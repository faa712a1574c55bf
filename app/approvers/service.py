"""Approvers: the humans who decide JIT requests, each with a one-time-shown API token."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, select

from app.audit import service as audit
from app.core import validation
from app.core.db import add_if_unique
from app.core.errors import Conflict, RuleViolation
from app.core.secrets import APPROVER_TOKEN_PREFIX, hash_token, new_secret_token
from app.core.times import rfc3339
from app.models import Approver, Policy

GROUP = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
ACTIVE, DISABLED, DELETED = "active", "disabled", "deleted"


@dataclass(frozen=True)
class CreatedApprover:
    approver: Approver
    api_token: str  # shown once


def create(
    session: Session,
    *,
    org_id: str,
    email: str,
    name: str | None,
    slack_user_id: str | None,
    groups: Sequence[str],
    actor: str,
) -> CreatedApprover:
    email = validation.email(email, "email must be an email address")
    if any(not GROUP.match(g) for g in groups):
        raise RuleViolation("groups are short lowercase names ([a-z0-9_.-])")
    token = new_secret_token(APPROVER_TOKEN_PREFIX)
    approver = Approver(
        org_id=org_id,
        email=email.lower(),
        name=name,
        slack_user_id=slack_user_id,
        groups=sorted(set(groups)),
        token_hash=hash_token(token),
    )
    if not add_if_unique(session, approver):
        raise Conflict(_taken(session, org_id, approver.email))
    details = {"email": approver.email, "groups": approver.groups}
    audit.record_success(session, org_id, actor, "approver.create", approver.id, details=details)
    return CreatedApprover(approver=approver, api_token=token)


def _taken(session: Session, org_id: str, email: str) -> str:
    stmt = select(Approver).where(Approver.org_id == org_id, Approver.email == email)
    existing = session.exec(stmt).first()
    if existing is not None and existing.status == DELETED:
        return (
            f"approver {existing.id} with email {email!r} was deleted; its row keeps the address "
            "for the audit trail, so this address cannot be added again"
        )
    return f"an approver with email {email!r} already exists"


def list_approvers(session: Session, *, org_id: str) -> Sequence[Approver]:
    """The org's approvers, active and disabled; deleted ones are only kept for the audit trail."""
    return session.exec(
        select(Approver)
        .where(Approver.org_id == org_id, Approver.status != DELETED)
        .order_by(Approver.email)
    ).all()


def names(policy: Policy, approver: Approver) -> bool:
    """Whether the policy names this approver, directly or through one of its groups."""
    return approver.id in policy.approvers or bool(set(policy.groups) & set(approver.groups))


def eligible(session: Session, policy: Policy) -> list[Approver]:
    """The active approvers a policy names: the ones who may decide its requests."""
    stmt = select(Approver).where(Approver.org_id == policy.org_id, Approver.status == ACTIVE)
    return [a for a in session.exec(stmt).all() if names(policy, a)]


def public(approver: Approver) -> dict:
    return {
        "approver_id": approver.id,
        "email": approver.email,
        "name": approver.name,
        "slack_user_id": approver.slack_user_id,
        "groups": approver.groups,
        "status": approver.status,
        "created_at": rfc3339(approver.created_at),
    }

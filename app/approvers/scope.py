"""What an approver may see and do, one rule for every channel (API, dashboard, Slack, email).

An approver acts on (decides, revokes) a request only while its policy names them, directly
or through a group, and they are active. They see those requests, plus any request they
recorded a decision on (so a decision stays readable after the policy changes). Every other
request is answered as if it did not exist: an approver learns nothing about other teams'
agents, permissions or operations.
"""

from sqlalchemy import Select, or_
from sqlmodel import Session, col, select

from app.approvers.service import ACTIVE, names
from app.core.errors import Forbidden, NotFound
from app.models import Approver, JitDecision, JitRequest, Policy


def policy_ids_naming(session: Session, approver: Approver) -> list[str]:
    rows = session.exec(select(Policy).where(Policy.org_id == approver.org_id)).all()
    return [p.id for p in rows if names(p, approver)]


def visible_request_ids(session: Session, approver: Approver) -> Select:
    """A subquery of the ids of the requests this approver may see (for history and audit)."""
    decided = select(JitDecision.request_id).where(JitDecision.approver_id == approver.id)
    return select(JitRequest.id).where(
        JitRequest.org_id == approver.org_id,
        or_(
            col(JitRequest.policy_id).in_(policy_ids_naming(session, approver)),
            col(JitRequest.id).in_(decided),
        ),
    )


def _named(session: Session, approver: Approver, row: JitRequest) -> bool:
    policy = session.get(Policy, row.policy_id) if row.policy_id else None
    return policy is not None and policy.org_id == approver.org_id and names(policy, approver)


def _decided(session: Session, approver: Approver, row: JitRequest) -> bool:
    stmt = select(JitDecision.id).where(
        JitDecision.request_id == row.id, JitDecision.approver_id == approver.id
    )
    return session.exec(stmt).first() is not None


def may_see(session: Session, approver: Approver, row: JitRequest) -> bool:
    if row.org_id != approver.org_id:
        return False
    return _named(session, approver, row) or _decided(session, approver, row)


def may_act(session: Session, approver: Approver, row: JitRequest) -> bool:
    return approver.status == ACTIVE and _named(session, approver, row)


def ensure_may_see(session: Session, approver: Approver, row: JitRequest) -> None:
    if not may_see(session, approver, row):
        raise NotFound(f"no JIT request {row.id} in this organization")


def ensure_may_act(session: Session, approver: Approver, row: JitRequest) -> None:
    """404 for a request the approver may not even see; 403 when they see it but may not act."""
    ensure_may_see(session, approver, row)
    if not may_act(session, approver, row):
        raise Forbidden("you are not an approver for this request's policy", code="not_an_approver")

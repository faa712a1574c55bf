"""Verifying an org's audit chain: every link recomputed from the stored rows, from the start
or from a point already verified (app/audit/chain_state.py keeps that point between checks)."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.audit.service import GENESIS, event_hash
from app.models import AuditEvent, Org


@dataclass(frozen=True)
class ChainPoint:
    """An event already verified: its sequence number and stored hash."""

    seq: int
    hash: str


ORIGIN = ChainPoint(0, GENESIS)


@dataclass(frozen=True)
class ChainReport:
    org_id: str
    checked: int  # events verified, counted from the start of the chain
    broken_seq: int | None
    problem: str | None
    last_hash: str | None = None  # the verified head's hash, when the chain is intact
    start_refused: bool = False  # the chain no longer holds the head this check started from


def verify_chain(session: Session, org_id: str, *, start: ChainPoint = ORIGIN) -> ChainReport:
    """Recompute every link after `start` (by default the whole chain); name the first event
    whose stored hash or predecessor is wrong.

    The head is read first and only events up to it are checked: appends that land while the
    check runs belong to the next check, not to a false "events missing" report. From a later
    `start` (a head verified before), only that event itself is checked again (its stored hash,
    recomputed from its contents): an edit of an older event is found by the next full check.
    """
    head = session.execute(select(Org.audit_seq, Org.audit_head).where(Org.id == org_id)).first()
    last = head.audit_seq if head is not None else 0
    refused = _start_refused(session, org_id, start, last)
    if refused is not None:
        return refused
    prev, expected_seq, checked = start.hash, start.seq + 1, start.seq
    stmt = (
        select(AuditEvent)
        .where(
            AuditEvent.org_id == org_id,
            col(AuditEvent.seq) > start.seq,
            col(AuditEvent.seq) <= last,
        )
        .order_by(col(AuditEvent.seq))
    )
    for ev in session.exec(stmt):
        problem = _link_problem(ev, prev, expected_seq)
        if problem:
            return ChainReport(org_id, checked, ev.seq, problem)
        prev, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
    if checked != last:
        return ChainReport(org_id, checked, checked + 1, "events missing at the end of the chain")
    if head is not None and checked and prev != head.audit_head:
        return ChainReport(
            org_id, checked, last, "the org's chain head does not match the last event"
        )
    return ChainReport(org_id, checked, None, None, last_hash=prev)


def verified_point_missing(session: Session, org_id: str, point: ChainPoint) -> ChainReport | None:
    """A broken report when the chain no longer holds `point` as it was verified (the event
    at that seq is gone, its stored hash differs, or its contents no longer give that hash)."""
    head = session.execute(select(Org.audit_seq).where(Org.id == org_id)).first()
    return _start_refused(session, org_id, point, head.audit_seq if head is not None else 0)


def _start_refused(
    session: Session, org_id: str, start: ChainPoint, last: int
) -> ChainReport | None:
    if start.seq == 0:
        return None
    lost = (
        f"the chain no longer contains the event verified at seq {start.seq} with hash {start.hash}"
    )
    if start.seq > last:
        return ChainReport(
            org_id,
            0,
            last + 1,
            f"the chain is shorter than when it was verified: {lost}",
            start_refused=True,
        )
    event = session.exec(
        select(AuditEvent).where(AuditEvent.org_id == org_id, AuditEvent.seq == start.seq)
    ).first()
    if event is None or event.hash != start.hash:
        return ChainReport(org_id, 0, start.seq, lost, start_refused=True)
    # The stored hash alone proves nothing: recompute it from the row's own contents (its
    # stored predecessor is checked by the next full check, like every older link).
    problem = _link_problem(event, event.prev_hash, start.seq)
    if problem:
        return ChainReport(
            org_id,
            0,
            start.seq,
            f"the event verified at seq {start.seq} changed: {problem}",
            start_refused=True,
        )
    return None


def _link_problem(ev: AuditEvent, prev: str, expected_seq: int) -> str | None:
    if ev.seq != expected_seq:
        return f"sequence gap: expected {expected_seq}, found {ev.seq}"
    if ev.prev_hash != prev:
        return "prev_hash does not match the previous event's hash"
    recomputed = event_hash(
        prev,
        org_id=ev.org_id,
        seq=ev.seq,
        ts=ev.ts,
        actor=ev.actor,
        action=ev.action,
        target=ev.target,
        outcome=ev.outcome,
        reason=ev.reason,
        details=ev.details,
    )
    if ev.hash != recomputed:
        return "stored hash does not match the event's contents"
    return None

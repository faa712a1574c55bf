"""The audit chain's verification state for the admin overview, verified incrementally.

A full verification recomputes every link (the audit page's "verify chain" button runs one).
After it, the overview checks only the events appended since the last verified head, so a page
load costs the new events, not the whole chain; it says when the whole chain was last checked,
since an edit of an older event is found by the next full check only. Any doubt (the verified
head changed, the chain got shorter, a new link is broken) falls back to a full check, which
names the first broken event.

Kept in this process (a restart, or another web process, begins with one full check): the
verified head is not a secret, but it must not come from somewhere an attacker who can edit
the database could also edit.
"""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from app.audit import service as audit


@dataclass(frozen=True)
class ChainState:
    report: audit.ChainReport
    full_check_at: datetime | None  # when this process last verified the whole chain
    incremental: bool  # this report checked only the events after the last verified head


@dataclass(frozen=True)
class _Verified:
    head: audit.ChainPoint
    full_check_at: datetime


_verified: dict[str, _Verified] = {}
_lock = threading.Lock()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _remember(org_id: str, report: audit.ChainReport, full_check_at: datetime) -> None:
    with _lock:
        if report.broken_seq is None and report.last_hash is not None:
            head = audit.ChainPoint(report.checked, report.last_hash)
            _verified[org_id] = _Verified(head, full_check_at)
        else:
            _verified.pop(org_id, None)


def verify_all(session: Session, org_id: str, *, now: datetime | None = None) -> ChainState:
    """Every link, from the first event: the button's check."""
    checked_at = _now(now)
    report = audit.verify_chain(session, org_id)
    _remember(org_id, report, checked_at)
    return ChainState(report, checked_at, incremental=False)


def latest(session: Session, org_id: str, *, now: datetime | None = None) -> ChainState:
    """The overview's check: the new events only, when a verified head is known."""
    with _lock:
        known = _verified.get(org_id)
    if known is None:
        return verify_all(session, org_id, now=now)
    report = audit.verify_chain(session, org_id, start=known.head)
    if report.broken_seq is not None:
        return verify_all(session, org_id, now=now)
    _remember(org_id, report, known.full_check_at)
    return ChainState(report, known.full_check_at, incremental=True)


def forget() -> None:
    """Tests: begin again with a full check."""
    with _lock:
        _verified.clear()

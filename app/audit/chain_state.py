"""The audit chain's verification state for the admin overview, verified incrementally.

A full verification recomputes every link (the audit page's "verify chain" button runs one).
After it, the overview checks only the events appended since the last verified head, so a page
load costs the new events, not the whole chain; it says when the whole chain was last checked,
since an edit of an older event is found by the next full check only. A broken new link falls
back to a full check, which names the first broken event. A chain that no longer holds the
verified head (cut short, or that event changed) is reported broken as such, by the overview
and by the full check alike, and the verified head is kept: a self-consistent rewritten chain
must not pass for intact and wipe out the evidence.

Kept in this process (a restart, or another web process, begins with one full check): the
verified head is not a secret, but it must not come from somewhere an attacker who can edit
the database could also edit.
"""

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlmodel import Session

from app.audit import verification


@dataclass(frozen=True)
class ChainState:
    report: verification.ChainReport
    full_check_at: datetime | None  # when this process last verified the whole chain
    incremental: bool  # this report checked only the events after the last verified head


@dataclass(frozen=True)
class _Verified:
    head: verification.ChainPoint
    full_check_at: datetime
    needs_full: bool = False  # the last full check found a break: check everything again


_verified: dict[str, _Verified] = {}
_lock = threading.Lock()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _remember(
    org_id: str,
    report: verification.ChainReport,
    full_check_at: datetime,
    previous: _Verified | None,
) -> None:
    """Move the verified head forward after a check that started from `previous`.

    The caller has made sure the chain still holds `previous.head` (the incremental check
    starts from it; the full check asks `verified_point_missing`), so the new head extends it.
    A break keeps the old head: it is the evidence that a rewritten chain no longer matches.
    Compare-and-set on `previous`, so a slower check never moves the head back.
    """
    with _lock:
        if _verified.get(org_id) is not previous:
            return
        intact = report.broken_seq is None and report.last_hash is not None
        if intact and (previous is None or report.checked >= previous.head.seq):
            head = verification.ChainPoint(report.checked, report.last_hash)  # type: ignore[arg-type]
            _verified[org_id] = _Verified(head, full_check_at)
        elif previous is not None:
            _verified[org_id] = replace(previous, needs_full=True)


def verify_all(session: Session, org_id: str, *, now: datetime | None = None) -> ChainState:
    """Every link, from the first event: the button's check.

    A chain that no longer holds the head verified before is reported broken even when it is
    self-consistent (rewritten or cut short), and the remembered head is kept, so no later
    check makes the evidence disappear.
    """
    checked_at = _now(now)
    with _lock:
        known = _verified.get(org_id)
    report = verification.verify_chain(session, org_id)
    if known is not None:
        lost = verification.verified_point_missing(session, org_id, known.head)
        if lost is not None:
            return ChainState(lost, checked_at, incremental=False)
    _remember(org_id, report, checked_at, known)
    return ChainState(report, checked_at, incremental=False)


def latest(session: Session, org_id: str, *, now: datetime | None = None) -> ChainState:
    """The overview's check: the new events only, when a verified head is known."""
    with _lock:
        known = _verified.get(org_id)
    if known is None or known.needs_full:
        return verify_all(session, org_id, now=now)
    report = verification.verify_chain(session, org_id, start=known.head)
    if report.start_refused:
        # The verified head is gone or changed: that is the finding, whatever a full check of
        # the chain as it is now would say.
        return ChainState(report, known.full_check_at, incremental=True)
    if report.broken_seq is not None:
        return verify_all(session, org_id, now=now)  # names the first broken event
    _remember(org_id, report, known.full_check_at, known)
    return ChainState(report, known.full_check_at, incremental=True)


def forget() -> None:
    """Tests: begin again with a full check."""
    with _lock:
        _verified.clear()

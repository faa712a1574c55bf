"""Notification deliveries: one row per (request, channel, kind, target) with a unique dedup key.

Network calls happen outside any database transaction. Before its post, a task claims the row
(compare-and-set pending → sending), so two tasks never post the same delivery at once; a claim
older than the broker's visibility timeout belongs to a worker that died and may be taken over.
A row is marked sent right after its post succeeds, so a redelivered task skips what was
already delivered; a transient failure puts the row back to pending and raises
NotifierUnavailable for the task to retry with backoff; a permanent one is recorded on the row
and in the audit trail and never retried.

Channels whose address an org or agent chose (webhooks) form the third-party lane: their
deliveries run in tasks of their own on the jitgate.deliveries queue (workers/tasks.py), each
with its own outbox row (app/jit/outbox.py), so a slow receiver never holds our own
channels up.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.core import metrics
from app.core.columns import utcnow
from app.core.db import rows_changed, session_scope
from app.core.task_queue import VISIBILITY_TIMEOUT
from app.jit.views import request_view
from app.models import Delivery, JitRequest
from notifiers.base import Notifier, NotifierRejected, NotifierUnavailable, RequestView, Target
from notifiers.formatting import event_outcome, outcome_of
from notifiers.registry import get_notifier, third_party_channels

log = logging.getLogger(__name__)
ANNOUNCE, OUTCOME = "announce", "outcome"


def in_lane(channel: str, third_party: bool) -> bool:
    return (channel in third_party_channels()) == third_party


@dataclass(frozen=True)
class Planned:
    key: str
    channel: str
    target: Target
    reference: dict[str, Any] | None = None


def _ensure_row(
    session: Session, *, key: str, request_id: str, channel: str, kind: str, target: str
) -> None:
    if session.exec(select(Delivery.id).where(Delivery.dedup_key == key)).first() is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                Delivery(
                    dedup_key=key,
                    request_id=request_id,
                    channel=channel,
                    kind=kind,
                    target=target[:320],
                )
            )
            session.flush()
    except IntegrityError:
        pass  # a concurrent copy of this task created it


CLAIMED, DONE, BUSY = "claimed", "done", "busy"


def _claim(key: str) -> tuple[str, datetime | None]:
    """(CLAIMED, the claim's time) when this task may post now; DONE when the row is sent or
    failed; BUSY when another task holds a live claim on it."""
    now = utcnow()
    stale = now - timedelta(seconds=VISIBILITY_TIMEOUT)
    with session_scope() as session:
        claimable = or_(
            col(Delivery.status) == "pending",
            and_(col(Delivery.status) == "sending", col(Delivery.updated_at) < stale),
        )
        stmt = (
            update(Delivery)
            .where(col(Delivery.dedup_key) == key, claimable)
            .values(status="sending", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(session, stmt) == 1:
            return CLAIMED, now
        row = session.exec(select(Delivery.status).where(Delivery.dedup_key == key)).first()
        return (BUSY if row == "sending" else DONE), None


def _record(
    key: str,
    *,
    status: str,
    claimed_at: datetime,
    error: str | None = None,
    reference: dict[str, Any] | None = None,
) -> None:
    """Record the outcome of a post, only while this task's claim is still the row's: a task
    that was slow past the visibility timeout and lost its claim must not undo the new one."""
    values: dict[str, Any] = {
        "status": status,
        "attempts": col(Delivery.attempts) + 1,
        "last_error": error[:2000] if error else None,
        "updated_at": utcnow(),
    }
    if reference is not None:
        values["external_ref"] = reference
    with session_scope() as session:
        stmt = (
            update(Delivery)
            .where(
                col(Delivery.dedup_key) == key,
                col(Delivery.status) == "sending",
                col(Delivery.updated_at) == claimed_at,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(session, stmt) != 1:
            log.warning("delivery %s was taken over by another task; its record stands", key)
            return
        row = session.exec(select(Delivery).where(Delivery.dedup_key == key)).one()
        if status == "failed":
            request = session.get(JitRequest, row.request_id)
            if request is not None:
                audit.record(
                    session,
                    audit.EventIn(
                        org_id=request.org_id,
                        actor="system",
                        action="notify.failed",
                        target=request.id,
                        outcome="failed",
                        reason=error or "",
                        details={"channel": row.channel, "kind": row.kind},
                    ),
                )


def _count(item: Planned, outcome: str) -> None:
    kind = "outcome" if ":outcome:" in item.key else "announce"  # the keys' own layout
    metrics.DELIVERIES.labels(item.channel, kind, outcome).inc()


def _run(plan: list[Planned], call: Any) -> int:
    """Deliver each planned item not yet sent; raise NotifierUnavailable if any should retry."""
    sent, transient = 0, None
    for item in plan:
        claim, claimed_at = _claim(item.key)
        if claim == BUSY:  # retried later: by then it is sent, or its claim has gone stale
            transient = NotifierUnavailable(f"{item.key} is being delivered by another task")
            continue
        if claim == DONE or claimed_at is None:
            continue
        try:
            reference = call(get_notifier(item.channel), item)
        except NotifierUnavailable as exc:
            _record(item.key, status="pending", claimed_at=claimed_at, error=str(exc))
            _count(item, "retried")
            transient = exc
            continue
        except (NotifierRejected, Exception) as exc:  # permanent: recorded, not retried
            log.warning("delivery %s failed permanently: %s", item.key, exc)
            error = f"{type(exc).__name__}: {exc}"
            _record(item.key, status="failed", claimed_at=claimed_at, error=error)
            _count(item, "failed")
            continue
        _record(item.key, status="sent", claimed_at=claimed_at, reference=reference)
        _count(item, "sent")
        sent += 1
    if transient is not None:
        raise transient
    return sent


def _plan_announce(session: Session, view: RequestView, third_party: bool) -> list[Planned]:
    plan = []
    for channel in view.extra.get("channels", []):
        if not in_lane(channel, third_party):
            continue
        notifier: Notifier = get_notifier(channel)
        for target in notifier.targets(view):
            key = f"{view.request_id}:announce:{channel}:{target.address}"
            _ensure_row(
                session,
                key=key,
                request_id=view.request_id,
                channel=channel,
                kind="announce",
                target=target.address,
            )
            plan.append(Planned(key, channel, target))
    return plan


def announce(request_id: str, *, third_party: bool = False) -> int:
    """Announce on one lane's channels, whatever the request's status by now: a request decided
    before its announcement went out (the worker was down) is announced all the same, and its
    outcome follows on each channel, so no approver's message is missing or stays "pending"."""
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        if row is None:
            return 0
        view = request_view(session, row)
        plan = _plan_announce(session, view, third_party)
    sent = _run(plan, lambda notifier, item: notifier.announce(view, item.target))
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        decided = row is not None and row.status != "pending"
        if row is not None and row.notified_at is None:
            row.notified_at = utcnow()
            session.add(row)
    if decided:
        # The decision landed before or while the announcements went out: its own outcome task
        # may have looked before they were recorded as sent and found nothing to follow up.
        # Follow up now; outcome deliveries are keyed, so one already made is not made again.
        show_outcome(request_id, third_party=third_party)
    return sent


def show_outcome(request_id: str, *, third_party: bool = False) -> int:
    """Show the outcome on each of one lane's channels that announced the request."""
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        if row is None or row.status == "pending":
            return 0
        view = request_view(session, row)
        announced = session.exec(
            select(Delivery)
            .where(
                Delivery.request_id == request_id,
                Delivery.kind == "announce",
                Delivery.status == "sent",
            )
            .order_by(col(Delivery.id))
        ).all()
        plan = []
        for d in announced:
            if not in_lane(d.channel, third_party):
                continue
            # Keyed by what is shown, not the status: a retry after the token was consumed is
            # the same delivery, not a second one. Our own channels show the decision (a
            # revocation changes nothing an approver reads); webhooks send the event, and a
            # revocation or the token's expiry is one of its own.
            shown = event_outcome(row.status) if third_party else outcome_of(row.status)
            key = f"{request_id}:outcome:{shown or row.status}:{d.channel}:{d.target}"
            _ensure_row(
                session,
                key=key,
                request_id=request_id,
                channel=d.channel,
                kind="outcome",
                target=d.target,
            )
            plan.append(Planned(key, d.channel, Target(address=d.target), d.external_ref))
    return _run(
        plan, lambda notifier, item: notifier.show_outcome(view, item.target, item.reference)
    )

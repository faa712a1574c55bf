"""The audit trail: a per-org hash chain of events, written in the caller's transaction or in batches.

Each event stores the SHA-256 of its predecessor. The chain head lives on the org row and only
moves by compare-and-set on `audit_seq`, so several web processes and workers can append to the
same chain without forking it.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col, select

from app.core import metrics
from app.core.batching import BatchWriter
from app.core.bulk_insert import insert_rows
from app.core.columns import utcnow
from app.core.db import rows_changed
from app.core.logs import current_request_id
from app.models import AuditEvent, Org

log = logging.getLogger(__name__)
GENESIS = "0" * 64


@dataclass
class EventIn:
    org_id: str
    actor: str
    action: str
    outcome: str
    target: str = ""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    ts: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        # The HTTP request that caused the event, to join the audit trail with the logs.
        request_id = current_request_id()
        if request_id and "request_id" not in self.details:
            self.details = {**self.details, "request_id": request_id}


def _ts_text(ts: datetime) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="microseconds")


def event_hash(
    prev_hash: str,
    *,
    org_id: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    reason: str,
    details: dict[str, Any],
) -> str:
    canonical = _canonical(
        org_id,
        seq,
        {
            "ts": ts,
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "reason": reason,
            "details": details,
        },
    )
    return _digest(prev_hash, canonical)


_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(org_id: str, seq: int, fields: dict[str, Any]) -> str:
    """The hashed text of an event: its fields as sorted, compact JSON."""
    return _CANONICAL_JSON.encode(
        {**fields, "org_id": org_id, "seq": seq, "ts": _ts_text(fields["ts"])}
    )


def _digest(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def append(session: Session, org_id: str, events: Sequence[EventIn]) -> int:
    """Append events to the org's chain inside the session's transaction (CAS on the head).

    Returns the sequence number of the last event. Rows are inserted in one statement per
    chunk (app/core/bulk_insert.py), not as ORM objects: this runs for every permission check,
    and the ORM cost dominated.
    """
    if not events:
        return 0
    for _attempt in range(50):
        current = session.execute(
            select(Org.audit_seq, Org.audit_head).where(Org.id == org_id)
        ).one()
        rows, seq, head = _chain_rows(org_id, current.audit_seq, current.audit_head, events)
        moved = rows_changed(
            session,
            update(Org)
            .where(col(Org.id) == org_id, col(Org.audit_seq) == current.audit_seq)
            .values(audit_seq=seq, audit_head=head)
            .execution_options(synchronize_session=False),
        )
        if moved == 1:
            insert_rows(session.connection(), AuditEvent.__table__, rows)  # type: ignore[attr-defined]
            return seq
    raise RuntimeError("audit chain contention: could not append after 50 attempts")


def _chain_rows(
    org_id: str, seq: int, head: str, events: Sequence[EventIn]
) -> tuple[list[dict[str, Any]], int, str]:
    rows = []
    for ev in events:
        seq += 1
        # Hash exactly what is stored, so the chain verifies from the rows alone.
        fields: dict[str, Any] = {
            "ts": ev.ts,
            "actor": ev.actor,
            "action": ev.action,
            "target": ev.target,
            "outcome": ev.outcome,
            "reason": ev.reason,
            "details": ev.details,
        }
        canonical = _canonical(org_id, seq, fields)
        if not _storable_as_is(canonical, fields):
            fields = _storable_fields(fields)
            canonical = _canonical(org_id, seq, fields)
        digest = _digest(head, canonical)
        rows.append({"org_id": org_id, "seq": seq, "prev_hash": head, "hash": digest, **fields})
        head = digest
    return rows, seq, head


# Column lengths of the event's text fields (AuditEvent).
_LIMITS = {"actor": 200, "action": 64, "target": 200, "outcome": 32, "reason": 2000}


def _storable_as_is(canonical: str, fields: dict[str, Any]) -> bool:
    """True when no field needs _storable's repairs: the canonical JSON (ensure_ascii=False)
    shows every string of the event, keys included, as it is, but for NUL (written \\u0000),
    so an ASCII text without that escape means only ASCII strings without NUL. Checking
    each string of the details in Python cost more than writing the rest of the event."""
    return (
        canonical.isascii()
        and "\\u0000" not in canonical
        and all(len(fields[name]) <= limit for name, limit in _LIMITS.items())
    )


def _storable_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "ts": fields["ts"],
        **{name: _storable(fields[name], limit) for name, limit in _LIMITS.items()},
        "details": _storable_details(fields["details"]),
    }


def _storable(text: str, limit: int) -> str:
    """What the column can hold: PostgreSQL refuses NUL bytes, UTF-8 has no lone surrogates
    (a JSON body may carry "\\ud800"), and the column has a length. An event that could not be
    stored would be dropped by the writer: a caller could make its own event disappear."""
    if not text.isascii():
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\x00", "\ufffd")[:limit]


def _storable_details(value: Any) -> Any:
    """The same for every string inside the details (questions, reasons, ids from requests)."""
    if isinstance(value, str):
        return _storable(value, len(value))
    if isinstance(value, dict):
        return {_storable_details(k): _storable_details(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_details(v) for v in value]
    return value


def record(session: Session, event: EventIn) -> int:
    """Record one event as part of the caller's transaction: it commits or rolls back with it.
    Returns its sequence number in the org's chain."""
    return append(session, event.org_id, [event])


def record_success(
    session: Session,
    org_id: str,
    actor: str,
    action: str,
    target: str = "",
    *,
    details: dict[str, Any] | None = None,
) -> int:
    """Record a change (or sign-in) that succeeded, as record() does: who (`actor`) did what
    (`action`, such as agent.update) to what (`target`)."""
    event = EventIn(org_id, actor, action, "success", target=target, details=details or {})
    return record(session, event)


def _group_by_org(events: Iterable[EventIn]) -> dict[str, list[EventIn]]:
    groups: dict[str, list[EventIn]] = {}
    for ev in events:
        groups.setdefault(ev.org_id, []).append(ev)
    return groups


def _write_events(items: list[EventIn]) -> None:
    from app.core.db import session_scope

    with session_scope() as session:
        for org_id, events in _group_by_org(items).items():
            append(session, org_id, events)


# Checks, token issuance and refusals hand their events here: a check never waits for a disk
# write, and a refused request's own transaction (rolled back) cannot take its event with it.
# Every 0.1 s, not 0.02: each batch costs the web process ~1 ms of Python (a transaction, the
# chain head's compare-and-set) on the GIL its requests need; under load, larger batches halved
# the writer's CPU per event (bench/bench_http.py). GET /audit and `audit verify` flush first.
# Bounded: under a check load the writer could not keep up with, up to 18,000 events waited,
# and the process kept that memory once grown (bench/bench_memory.py). Each org has its share of
# the bound (app/core/room.py): at its share the org's check, AuthZEN, token and Ask requests
# wait for room (room()); past twice the bound, every org's do. An event is ~1 KiB, more with a
# check's resource (up to 2 KiB) or an Ask question (up to 2,000 characters): README, "Audit
# backlog", gives the worst case.
QUEUED_EVENTS_BOUND = 4096
# A writer that has written no batch in this long is not behind but stalled (the database is
# down or locked): a waiting request is refused with 503 rather than answered without its audit
# event. One whose last write failed refuses at once.
ROOM_TIMEOUT_SECONDS = 2.0


def _share_of(event: EventIn) -> str | None:
    """The org whose share of the bound an event counts against. A refused token request is
    unauthenticated: anyone can make one in any org's name, so its event counts against no
    org's share (only toward the total), and cannot make that org's own requests wait."""
    if event.action == "token.issue" and event.outcome != "success":
        return None
    return event.org_id


writer: BatchWriter[EventIn] = BatchWriter(
    "audit-writer", _write_events, interval=0.1, bound=QUEUED_EVENTS_BOUND, key=_share_of
)


# Refused token requests are unauthenticated: anyone can make them, and they never wait. At most
# this many of their events are queued; past it each further one is dropped and counted
# (jitgate_audit_events_dropped_total{reason="refused_token_backlog"}) and logged at most once
# a minute, so they can neither grow memory nor fill the queue to the cap every org waits at.
REFUSED_TOKEN_EVENTS_BOUND = 1024
_dropped_logged_at = 0.0


def record_later(event: EventIn) -> None:
    if _share_of(event) is None and writer.queued(None) >= REFUSED_TOKEN_EVENTS_BOUND:
        _drop_refusal(event)
        return
    writer.submit(event)


def _drop_refusal(event: EventIn) -> None:
    global _dropped_logged_at
    metrics.AUDIT_EVENTS_DROPPED.labels("refused_token_backlog").inc()
    now = time.monotonic()
    if now - _dropped_logged_at >= 60:
        _dropped_logged_at = now
        log.warning(
            "audit: refused token requests' events dropped (%d queued)", writer.queued(None)
        )


# room()'s key for a caller not yet known to be of any org (a token request before its
# assertion is verified): counted toward the whole queue's hard cap, in no org's share.
ANY_ORG = None


def room(
    org_id: str | None, *, events: int = 1, on_wait: Callable[[], None] | None = None
) -> AbstractAsyncContextManager[None]:
    """Hold room for `events` more of this org's events, waiting for it if the queue is full
    (WriteBacklog: 503 when the writer has stalled). Submit them inside the block: the room
    stays reserved for them until it is left, however long the route awaits before.
    `on_wait` is called once if the caller has to wait, before it does."""
    return writer.hold(org_id, items=events, timeout=ROOM_TIMEOUT_SECONDS, on_wait=on_wait)


def list_events(
    session: Session,
    *,
    org_id: str,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    where: ColumnElement[bool] | None = None,
    before_seq: int | None = None,
) -> Sequence[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.org_id == org_id)
    if where is not None:  # a narrower view, e.g. what one approver may see
        stmt = stmt.where(where)
    # Filter on the form values are stored in (no NUL bytes, which PostgreSQL also refuses).
    if actor:
        stmt = stmt.where(AuditEvent.actor == _storable(actor, 200))
    if action:
        stmt = stmt.where(AuditEvent.action == _storable(action, 64))
    if since:
        stmt = stmt.where(col(AuditEvent.ts) >= _as_utc(since))
    if before_seq is not None:
        stmt = stmt.where(col(AuditEvent.seq) < before_seq)
    return session.exec(stmt.order_by(col(AuditEvent.seq).desc()).limit(limit)).all()


def _as_utc(value: datetime) -> datetime:
    """SQLite compares the text of timestamps stored in UTC: bring any offset to UTC first."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # within 14 hours of year 1 or 9999: the clock edge is the answer
        return datetime.min if value.year == 1 else datetime.max

"""The outbox relay, run by the beat sweep: sends again every side effect whose fast-path task
did not finish (the broker was down at the commit, the worker died, the retries ran out).

Each pass claims the due rows, oldest first, in one transaction: a compare-and-set on
`attempts` per row (two sweeps never send one row twice) that also pushes next_attempt_at back
(doubling per attempt). Then each row's task is sent with its outbox id, and the task marks the
row done. A row whose earlier family row is still pending waits (an outcome never before its
announcement).

A send that fails uses the row's attempt and holds back the rest of its request for this pass
(nothing of it overtakes the failed row); the pass goes on with other requests' rows. Several
failures in a row mean the broker itself is down: the pass ends, instead of paying kombu's
publish retries for each row. The claims of rows held back or left unsent are given back, so
they are due again at once and used no attempt. A row sent outbox_max_attempts times without
its task marking it done gives up: it is marked failed, with an error in the log and
jitgate_outbox_relay_total{outcome="gave_up"}, and its request's later rows go on (its
deliveries record why it never finished).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from app.core import metrics
from app.core.columns import utcnow
from app.core.db import rows_changed, session_scope
from app.jit import outbox
from app.models import OutboxRow
from app.settings import get_settings
from workers.enqueue import send

log = logging.getLogger(__name__)
BATCH = 500  # per sweep; a larger backlog drains over the next sweeps, oldest first
BACKOFF_CAP = timedelta(hours=1)
STOP_AFTER_FAILURES_IN_A_ROW = 3  # other requests' sends failing too: the broker is down


@dataclass(frozen=True)
class _Due:
    id: int
    request_id: str
    kind: str
    task: str
    args: list[Any]
    attempts: int
    next_attempt_at: datetime


def relay(*, now: datetime | None = None) -> int:
    """Send the due rows' tasks again; returns how many were sent."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(
            select(OutboxRow)
            .where(
                OutboxRow.status == outbox.PENDING,
                col(OutboxRow.next_attempt_at) <= now,
                ~outbox.waiting_on_earlier(),
            )
            .order_by(col(OutboxRow.id))
            .limit(BATCH)
        ).all()
        claimed = [_due(row) for row in due if _claim(session, row, now)]
    sent, unsent = _send(claimed)
    if unsent:
        _give_back(unsent)
    if sent:
        log.info("outbox relay: sent %d side effect(s) again", sent)
    return sent


def _due(row: OutboxRow) -> _Due:
    assert row.id is not None
    args = list(row.args)
    return _Due(row.id, row.request_id, row.kind, row.task, args, row.attempts, row.next_attempt_at)


def _send(claimed: list[_Due]) -> tuple[int, list[_Due]]:
    """(how many were sent, the claimed rows not sent: held back, or left when the pass ended)."""
    sent, held_back, unsent, failures_in_a_row = 0, set(), [], 0
    for n, row in enumerate(claimed):
        if row.request_id in held_back:
            unsent.append(row)
            continue
        try:
            send(row.task, *row.args, outbox_id=row.id)
        except Exception as exc:  # noqa: BLE001 - any failed publish: the row waits its backoff
            held_back.add(row.request_id)
            failures_in_a_row += 1
            metrics.OUTBOX_RELAY.labels(row.kind, "send_failed").inc()
            log.warning(
                "outbox row %s (%s of %s): send %d failed (%s: %s); retried after its backoff",
                row.id, row.kind, row.request_id, row.attempts + 1, type(exc).__name__, exc,
            )  # fmt: skip
            if failures_in_a_row >= STOP_AFTER_FAILURES_IN_A_ROW:
                log.warning("outbox relay: %d sends failed in a row; the rest waits", n + 1)
                unsent.extend(claimed[n + 1 :])
                break
            continue
        failures_in_a_row = 0
        sent += 1
        metrics.OUTBOX_RELAY.labels(row.kind, "sent").inc()
    return sent, unsent


def _claim(session: object, row: OutboxRow, now: datetime) -> bool:
    """Take the row for this pass (compare-and-set on attempts); a row out of attempts gives
    up instead."""
    settings = get_settings()
    attempts = row.attempts + 1
    gives_up = attempts > settings.outbox_max_attempts
    if gives_up:
        values: dict[str, object] = {"status": outbox.FAILED, "done_at": now}
    else:
        wait = timedelta(seconds=settings.outbox_relay_after_seconds * 2**attempts)
        values = {"attempts": attempts, "next_attempt_at": now + min(wait, BACKOFF_CAP)}
    stmt = (
        update(OutboxRow)
        .where(
            col(OutboxRow.id) == row.id,
            col(OutboxRow.status) == outbox.PENDING,
            col(OutboxRow.attempts) == row.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    won = rows_changed(session, stmt) == 1  # type: ignore[arg-type]
    if won and gives_up:
        metrics.OUTBOX_RELAY.labels(row.kind, "gave_up").inc()
        log.error(
            "outbox row %s (%s of %s) gave up: sent %d times, never marked done; its "
            "request's later side effects go on, its deliveries say why",
            row.id, row.kind, row.request_id, row.attempts,
        )  # fmt: skip
    return won and not gives_up


def _give_back(rows: list[_Due]) -> None:
    """Undo the claims of rows this pass did not send (compare-and-set on the claimed attempt),
    so they are due again at once and used no attempt."""
    with session_scope() as session:
        for row in rows:
            stmt = (
                update(OutboxRow)
                .where(
                    col(OutboxRow.id) == row.id,
                    col(OutboxRow.status) == outbox.PENDING,
                    col(OutboxRow.attempts) == row.attempts + 1,
                )
                .values(attempts=row.attempts, next_attempt_at=row.next_attempt_at)
                .execution_options(synchronize_session=False)
            )
            rows_changed(session, stmt)  # type: ignore[arg-type]

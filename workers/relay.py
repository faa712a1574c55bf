"""The outbox relay, run by the beat sweep: sends again every side effect whose fast-path task
did not finish (the broker was down at the commit, the worker died, the retries ran out).

Each pass claims due rows with a compare-and-set on `attempts` (two sweeps never send one row
twice in a pass), pushes next_attempt_at back (doubling per attempt), and sends the row's task
with its outbox id; the task marks the row done. A row whose earlier family row is still
pending waits (an outcome never before its announcement). After outbox_max_attempts sends a
row is marked failed and logged: its deliveries record why.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from app.db import rows_changed, session_scope
from app.models import OutboxRow
from app.models._types import utcnow
from app.services import outbox
from app.settings import get_settings
from workers.enqueue import send

log = logging.getLogger(__name__)
BATCH = 500  # per sweep; a larger backlog drains over the next sweeps, oldest first
BACKOFF_CAP = timedelta(hours=1)


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
        claimed = [(r.task, list(r.args), r.id) for r in due if _claim(session, r, now)]
    for task, args, outbox_id in claimed:
        send(task, *args, outbox_id=outbox_id)
    if claimed:
        log.info("outbox relay: sent %d side effect(s) again", len(claimed))
    return len(claimed)


def _claim(session: object, row: OutboxRow, now: datetime) -> bool:
    """Take the row for this pass (compare-and-set on attempts); a row out of attempts fails."""
    settings = get_settings()
    attempts = row.attempts + 1
    if attempts > settings.outbox_max_attempts:
        values: dict[str, object] = {"status": outbox.FAILED, "done_at": now}
        log.warning("outbox row %s (%s of %s) failed", row.id, row.kind, row.request_id)
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
    return won and values.get("status") != outbox.FAILED

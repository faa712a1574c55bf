"""The transactional outbox: every side effect a JIT state change needs is a row written in the
change's own transaction, so nothing is lost between the commit and the broker.

The Celery task sent after the commit is only the fast path. The relay (workers/relay.py) sends
again every row still pending once its next_attempt_at has passed, whatever was down when it
was written; a task marks its row done when its work is done. Rows of one request run in order
within a family: an outcome never before its announcement (a webhook outcome never before the
webhook announcement), so an approver's message never stays "pending" after the decision.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.core import task_queue
from app.core.columns import utcnow
from app.core.db import rows_changed, session_scope
from app.models import OutboxRow
from app.settings import get_settings

PENDING, DONE, FAILED = "pending", "done", "failed"
ANNOUNCE, OUTCOME, WEBHOOK, CALLBACK = "announce", "outcome", "webhook", "callback"
# Kinds that share an order: within one request, a row waits for the earlier rows of its family.
FAMILY = {ANNOUNCE: (ANNOUNCE, OUTCOME), OUTCOME: (ANNOUNCE, OUTCOME), WEBHOOK: (WEBHOOK,)}


def event_id(request_id: str, event: str) -> str:
    """The idempotency key receivers deduplicate on: one per request and event."""
    return f"{request_id}:{event}"


def add(
    session: Session,
    *,
    org_id: str,
    request_id: str,
    kind: str,
    event: str,
    task: str,
    args: list[Any],
    now: datetime | None = None,
) -> None:
    """Record the side effect in the caller's transaction; send its task once that commits."""
    now = now or utcnow()
    relay_after = timedelta(seconds=get_settings().outbox_relay_after_seconds)
    row = OutboxRow(
        org_id=org_id,
        request_id=request_id,
        kind=kind,
        event_id=event_id(request_id, event),
        task=task,
        args=args,
        created_at=now,
        next_attempt_at=now + relay_after,
    )
    session.add(row)
    session.flush()  # the id travels with the task
    task_queue.send_after_commit(session, task, *args, outbox_id=row.id)


def waiting_on_earlier() -> Any:
    """SQL: an earlier row of the same request and family is still pending."""
    earlier = aliased(OutboxRow)
    clauses = []
    for kind, family in FAMILY.items():
        clauses.append(
            and_(
                col(OutboxRow.kind) == kind,
                select(earlier.id)
                .where(
                    earlier.request_id == OutboxRow.request_id,
                    col(earlier.kind).in_(family),
                    earlier.status == PENDING,
                    col(earlier.id) < OutboxRow.id,
                )
                .exists(),
            )
        )
    return or_(*clauses)


def mark_done(outbox_id: int | None, *, now: datetime | None = None) -> bool:
    """Compare-and-set pending → done. Refused while an earlier row of the family is pending:
    an outcome task that ran before the announcement went out showed nothing, so its row stays
    for the relay to run again once the announcement is done."""
    if outbox_id is None:
        return False
    stmt = (
        update(OutboxRow)
        .where(col(OutboxRow.id) == outbox_id, col(OutboxRow.status) == PENDING)
        .where(~waiting_on_earlier())
        .values(status=DONE, done_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    with session_scope() as session:
        return rows_changed(session, stmt) == 1

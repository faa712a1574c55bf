"""What happens after a JIT request changes: its side effects, written to the outbox in the
change's own transaction (app/jit/outbox.py), and its events, sent once the change commits."""

from typing import Any

from sqlalchemy.orm import Session

from app.core import task_queue
from app.core.db import after_commit
from app.jit import outbox
from app.models import Policy
from notifiers import registry as notifier_registry
from notifiers.formatting import outcome_event

EVENT_PREFIX = "jit_request."


def after_change(session: Session, row: Any, kind: str) -> None:
    """kind: created | updated | decided | token | consumed."""
    request_id, org_id, status = row.id, row.org_id, row.status
    if kind == "created":
        _owe(session, row, outbox.ANNOUNCE, EVENT_PREFIX + "pending")
        _schedule_expiry(session, row)
    if kind == "decided":
        # No mint task: an approval mints in its own transaction (jit.approve_now); the sweep
        # still re-mints any approved request found without a token.
        # Named as the workers will deliver it (notifiers/formatting.py), so the row's event id
        # is the one every attempt of it carries.
        event = outcome_event(row.status)
        _owe(session, row, outbox.OUTCOME, event)
        if row.callback_url:
            outbox.add(
                session,
                org_id=org_id,
                request_id=request_id,
                kind=outbox.CALLBACK,
                event=event,
                task=task_queue.DELIVER_CALLBACK,
                args=[request_id],
            )
    after_commit(session, lambda: _publish(request_id, org_id, kind, status))


def _owe(session: Session, row: Any, kind: str, event: str) -> None:
    """An announcement or an outcome: our own channels' row, and the third-party lane's."""
    common = {"org_id": row.org_id, "request_id": row.id, "event": event}
    task = task_queue.NOTIFY_REQUEST if kind == outbox.ANNOUNCE else task_queue.NOTIFY_OUTCOME
    outbox.add(session, kind=kind, task=task, args=[row.id], **common)
    policy = session.get(Policy, row.policy_id) if row.policy_id else None
    if policy is not None and notifier_registry.third_party_channels().intersection(
        policy.channels
    ):
        lane = "announce" if kind == outbox.ANNOUNCE else "outcome"
        outbox.add(
            session,
            kind=outbox.WEBHOOK,
            task=task_queue.DELIVER_WEBHOOKS,
            args=[row.id, lane],
            **common,
        )


def _schedule_expiry(session: Session, row: Any) -> None:
    """A countdown only while it is shorter than the broker's visibility timeout: a longer one
    is held unacknowledged past it, redelivered and run twice (issue 14), and the worker holding
    it is the one a broker outage hurts. Longer deadlines are the sweep's (every few seconds)."""
    timeout = (row.pending_deadline - row.created_at).total_seconds()
    if timeout + 0.5 < task_queue.VISIBILITY_TIMEOUT / 2:
        task_queue.send_after_commit(
            session, task_queue.EXPIRE_REQUEST, row.id, countdown=timeout + 0.5
        )


def _publish(request_id: str, org_id: str, kind: str, status: str) -> None:
    from app.core import events

    # The status lets an open dashboard page say what happened without a reload.
    payload = {"type": f"request.{kind}", "request_id": request_id, "org_id": org_id}
    payload["status"] = status
    events.publish(events.request_topic(request_id), payload)
    events.publish(events.org_topic(org_id), payload)

"""What happens after a JIT request changes: tasks and events, sent only once the change commits."""

from typing import Any

from sqlalchemy.orm import Session

from app.core.db import after_commit

NOTIFY = "jitgate.notify_request"
OUTCOME = "jitgate.notify_outcome"
EXPIRE = "jitgate.expire_request"
CALLBACK = "jitgate.deliver_callback"
FAST_EXPIRY_MAX_SECONDS = (
    600  # longer deadlines are left to the beat sweep (broker ETAs are fragile)
)


def after_change(session: Session, row: Any, kind: str) -> None:
    """kind: created | updated | decided | token | consumed."""
    from workers.enqueue import send_after_commit

    request_id, org_id = row.id, row.org_id
    if kind == "created":
        send_after_commit(session, NOTIFY, request_id)
        timeout = (row.pending_deadline - row.created_at).total_seconds()
        if timeout <= FAST_EXPIRY_MAX_SECONDS:
            send_after_commit(session, EXPIRE, request_id, countdown=timeout + 0.5)
    if kind == "decided":
        # No mint task: an approval mints in its own transaction (jit.approve_now); the sweep
        # still re-mints any approved request found without a token.
        send_after_commit(session, OUTCOME, request_id)
        if row.callback_url:
            send_after_commit(session, CALLBACK, request_id)
    after_commit(session, lambda: _publish(request_id, org_id, kind))


def _publish(request_id: str, org_id: str, kind: str) -> None:
    from app.core import events

    payload = {"type": f"request.{kind}", "request_id": request_id, "org_id": org_id}
    events.publish(events.request_topic(request_id), payload)
    events.publish(events.org_topic(org_id), payload)

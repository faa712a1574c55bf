"""The one door from domain code to the task queue: the task names, and a sender that workers/
plugs in at start-up (workers/wiring.py), so no domain imports workers/ to queue its work.

Tasks are sent only after the database commit (`send_after_commit`): a task never runs before
its row exists, and a rolled-back request sends nothing.
"""

import os
from typing import Any, Protocol

from sqlalchemy.orm import Session

from app.core.db import after_commit

# Task names, in one place: domains send them, workers/tasks.py registers them under these names.
NOTIFY_REQUEST = "jitgate.notify_request"
NOTIFY_OUTCOME = "jitgate.notify_outcome"
DELIVER_WEBHOOKS = "jitgate.deliver_webhooks"
DELIVER_CALLBACK = "jitgate.deliver_callback"
EXPIRE_REQUEST = "jitgate.expire_request"
MINT_TOKEN = "jitgate.mint_token"
SWEEP = "jitgate.sweep"
# Deliveries to URLs that orgs and agents chose: a queue of their own (workers/celery_app.py).
THIRD_PARTY_TASKS = (DELIVER_CALLBACK, DELIVER_WEBHOOKS)
# How long an unacknowledged task waits before the broker hands it to another worker. A countdown
# longer than about half of it is held past it and redelivered (issue 14), so senders keep
# their countdowns below (app/jit/notify.py) and leave longer waits to the sweep.
VISIBILITY_TIMEOUT = float(os.environ.get("JITGATE_VISIBILITY_TIMEOUT", "60"))


class Sender(Protocol):
    def __call__(
        self,
        task_name: str,
        *args: Any,
        countdown: float | None = None,
        outbox_id: int | None = None,
    ) -> None: ...


class NoSender(RuntimeError):
    """A task was sent before any sender was registered (workers.wiring.install not called)."""


_sender: Sender | None = None


def register_sender(sender: Sender | None) -> Sender | None:
    """Install (or replace) how tasks leave this process; returns the previous sender so a
    test can put it back."""
    global _sender
    previous, _sender = _sender, sender
    return previous


def send(
    task_name: str, *args: Any, countdown: float | None = None, outbox_id: int | None = None
) -> None:
    """Send now. outbox_id: the outbox row the task marks done (app/jit/outbox.py)."""
    if _sender is None:
        raise NoSender(f"no task sender registered in this process (task {task_name})")
    _sender(task_name, *args, countdown=countdown, outbox_id=outbox_id)


def send_after_commit(
    session: Session,
    task_name: str,
    *args: Any,
    countdown: float | None = None,
    outbox_id: int | None = None,
) -> None:
    """Send once the session's transaction commits; a rollback sends nothing. A send that fails
    after the commit is logged (app/core/db.py): the outbox relay or the sweep sends it again."""
    after_commit(session, lambda: send(task_name, *args, countdown=countdown, outbox_id=outbox_id))

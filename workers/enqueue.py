"""Send Celery tasks only after the database commit, so a task never runs before its row exists
and a rolled-back request sends nothing."""

import logging
from typing import Any

from sqlalchemy.orm import Session

from app.db import after_commit

log = logging.getLogger(__name__)


def send(
    task_name: str, *args: Any, countdown: float | None = None, outbox_id: int | None = None
) -> None:
    """outbox_id: the outbox row the task marks done (app/services/outbox.py)."""
    from workers.celery_app import celery_app

    kwargs = {"outbox_id": outbox_id} if outbox_id is not None else {}
    celery_app.send_task(task_name, args=list(args), kwargs=kwargs, countdown=countdown)


def send_after_commit(
    session: Session,
    task_name: str,
    *args: Any,
    countdown: float | None = None,
    outbox_id: int | None = None,
) -> None:
    after_commit(session, lambda: send(task_name, *args, countdown=countdown, outbox_id=outbox_id))

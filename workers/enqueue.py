"""How tasks leave this process: through the Celery app. Domain code sends through the port in
app/core/task_queue.py, which workers/wiring.py points here at start-up."""

from typing import Any


def send(
    task_name: str, *args: Any, countdown: float | None = None, outbox_id: int | None = None
) -> None:
    """outbox_id: the outbox row the task marks done (app/jit/outbox.py)."""
    # Read at each send, not at import: the relay's tests publish through an app of their own.
    from workers import celery_app

    kwargs = {"outbox_id": outbox_id} if outbox_id is not None else {}
    celery_app.celery_app.send_task(task_name, args=list(args), kwargs=kwargs, countdown=countdown)

"""Plugs this process's implementations into app/core's ports: tasks leave through Celery
(workers/enqueue.py), and webhook and callback signatures use identity's org keys. Called at
start-up by the web process (app/runtime.py) and by every process that runs tasks
(workers/tasks.py), so domain code and notifiers never import workers/ or identity for them."""

from app.core import org_signing, task_queue
from app.identity.access_tokens import org_signing_key
from workers import enqueue


def install() -> None:
    """Idempotent: installing twice installs the same two functions."""
    task_queue.register_sender(enqueue.send)
    org_signing.provide(org_signing_key)

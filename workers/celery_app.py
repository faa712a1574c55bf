"""The Celery application: Redis broker when JITGATE_REDIS_URL is set, in-memory otherwise.

Reliability settings are the point of this module: tasks are acknowledged only after they ran
(acks_late) and given back if the worker dies (reject_on_worker_lost); each worker takes one
message at a time (prefetch 1), so a killed worker strands at most one task, which Redis hands
out again once the visibility timeout has passed.
"""

import os

from celery import Celery
from celery.signals import setup_logging

from app.core.task_queue import SWEEP, THIRD_PARTY_TASKS, VISIBILITY_TIMEOUT
from app.settings import get_settings

QUEUE = "jitgate"
# Deliveries to URLs that orgs and agents chose (webhooks, callbacks) have a queue and a pool of
# their own: a slow receiver can only ever hold those threads, never the ones that announce on
# our own channels, expire requests, sweep and mint.
DELIVERIES_QUEUE = "jitgate.deliveries"
SWEEP_SECONDS = float(os.environ.get("JITGATE_SWEEP_SECONDS", "5"))
# VISIBILITY_TIMEOUT (app/core/task_queue.py): how long an unacknowledged task waits before Redis
# hands it to another worker; also how long a delivery claimed by a worker stays its own
# (workers/deliveries.py) before it counts as dead.


def _transport_options(redis_url: str | None) -> dict[str, float]:
    if redis_url:
        visibility = VISIBILITY_TIMEOUT
        # kombu looks for such tasks only every interval x throttle seconds (10 x 10 by default),
        # which would leave a killed worker's task stranded long after its timeout; and a worker
        # killed mid-scan holds the scan's lock for its expiry (5 minutes by default).
        return {
            "visibility_timeout": visibility,
            "unacked_restore_interval": max(visibility / 2, 1.0),
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": max(int(visibility), 10),
        }
    # The in-memory transport polls: 50 ms keeps notifications prompt without an idle loop
    # eating CPU (decisions reach agents without the worker: approval mints the token).
    return {"polling_interval": 0.05}


def make_celery() -> Celery:
    settings = get_settings()
    broker = settings.redis_url or "memory://localhost/"
    app = Celery("jitgate", broker=broker, include=["workers.tasks", "workers.heartbeat"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(settings.redis_url),
        # kombu's Redis transport, repaired so a worker outlives a Redis outage (workers/broker.py)
        broker_transport="workers.broker:Transport" if settings.redis_url else None,
        task_default_queue=QUEUE,
        task_routes={name: {"queue": DELIVERIES_QUEUE} for name in THIRD_PARTY_TASKS},
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep": {"task": SWEEP, "schedule": SWEEP_SECONDS},
        },
        timezone="UTC",
    )
    return app


@setup_logging.connect
def _jitgate_logging(**_: object) -> None:
    """Workers and beat log like the web process (JITGATE_LOG_FORMAT, redaction of secrets)."""
    from app.core import logs

    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)


celery_app = make_celery()
# Tasks retried from a worker thread publish through the *default* app; without this, retries in
# the embedded worker would go to Celery's built-in default broker and be lost.
celery_app.set_default()

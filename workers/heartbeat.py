"""Worker liveness for `/readyz`: each Redis-mode worker stamps a sorted set every few seconds.

The web process cannot see Celery's own heartbeats without a broadcast round trip (`inspect
ping` waits for every worker), so each worker writes `hostname -> unix time` to one Redis key
that a readiness probe reads in one command. A worker that stops stamping drops out once its
stamp is older than `STALE_AFTER`.
"""

import logging
import os
import threading
import time
from typing import Any

from celery.signals import worker_ready, worker_shutdown

from app.settings import get_settings

log = logging.getLogger(__name__)
KEY = "jitgate:workers:heartbeat"
INTERVAL = float(os.environ.get("JITGATE_WORKER_HEARTBEAT_SECONDS", "5"))
STALE_AFTER = max(3 * INTERVAL, 15.0)
_stop = threading.Event()


def stamp(client: Any, hostname: str, now: float | None = None) -> None:
    moment = time.time() if now is None else now
    pipe = client.pipeline()
    pipe.zadd(KEY, {hostname: moment})
    pipe.zremrangebyscore(KEY, "-inf", moment - STALE_AFTER)  # departed workers
    pipe.expire(KEY, int(STALE_AFTER) + 60)
    pipe.execute()


def live_workers(client: Any, now: float | None = None) -> int:
    moment = time.time() if now is None else now
    return int(client.zcount(KEY, moment - STALE_AFTER, "+inf"))


def _beat(hostname: str) -> None:
    import redis

    client = redis.Redis.from_url(
        get_settings().redis_url or "", socket_timeout=2, socket_connect_timeout=2
    )
    while not _stop.is_set():
        try:
            stamp(client, hostname)
        except redis.RedisError as exc:  # the broker is down: the worker reconnects on its own
            log.warning("worker heartbeat not written: %s", type(exc).__name__)
        _stop.wait(INTERVAL)


@worker_ready.connect
def _start(sender: Any = None, **_: Any) -> None:
    if get_settings().embedded:
        return  # one process: /readyz knows its own worker thread
    hostname = getattr(sender, "hostname", None) or "worker"
    _stop.clear()
    threading.Thread(target=_beat, args=(hostname,), name="jitgate-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_beating(**_: Any) -> None:
    _stop.set()

"""Worker liveness for `/readyz`: each Redis-mode worker stamps, every few seconds, one sorted
set per queue it consumes.

The web process cannot see Celery's own heartbeats without a broadcast round trip (`inspect
ping` waits for every worker), so each worker writes `hostname -> unix time` under each of its
queues, and a readiness probe reads every queue in one round trip. A worker that stops
stamping drops out once its stamp is older than `STALE_AFTER`.
"""

import logging
import os
import threading
import time
from typing import Any

from celery.signals import worker_ready, worker_shutdown

from app.core.kv import redis_client
from app.settings import get_settings

log = logging.getLogger(__name__)
KEY_PREFIX = "jitgate:workers:heartbeat:"
INTERVAL = float(os.environ.get("JITGATE_WORKER_HEARTBEAT_SECONDS", "5"))
STALE_AFTER = max(3 * INTERVAL, 15.0)
SWEEP_KEY = "jitgate:beat:last_sweep"
_stop = threading.Event()


def stamp(client: Any, hostname: str, queues: list[str], now: float | None = None) -> None:
    moment = time.time() if now is None else now
    pipe = client.pipeline()
    for queue in queues:
        pipe.zadd(KEY_PREFIX + queue, {hostname: moment})
        pipe.zremrangebyscore(KEY_PREFIX + queue, "-inf", moment - STALE_AFTER)  # departed
        pipe.expire(KEY_PREFIX + queue, int(STALE_AFTER) + 60)
    pipe.execute()


def live_workers(client: Any, queues: list[str], now: float | None = None) -> dict[str, int]:
    """How many workers stamped each queue recently."""
    moment = time.time() if now is None else now
    pipe = client.pipeline()
    for queue in queues:
        pipe.zcount(KEY_PREFIX + queue, moment - STALE_AFTER, "+inf")
    return dict(zip(queues, (int(n) for n in pipe.execute()), strict=True))


def _client(url: str) -> Any:
    return redis_client(url)


def sweep_ran(now: float | None = None) -> None:
    """Record that beat's sweep ran (Redis mode): a dead beat shows as a stale stamp."""
    url = get_settings().redis_url
    if not url:
        return
    try:
        _client(url).set(SWEEP_KEY, str(time.time() if now is None else now), ex=3600)
    except Exception:  # noqa: BLE001 - a stamp is not worth failing the sweep over
        log.warning("could not record the sweep's time", exc_info=True)


def last_sweep(client: Any) -> float | None:
    value = client.get(SWEEP_KEY)
    return float(value) if value else None


def _beat(hostname: str, queues: list[str]) -> None:
    import redis

    client = redis_client(get_settings().redis_url or "")
    while not _stop.is_set():
        try:
            stamp(client, hostname, queues)
        except redis.RedisError as exc:  # the broker is down: the worker reconnects on its own
            log.warning("worker heartbeat not written: %s", type(exc).__name__)
        _stop.wait(INTERVAL)


@worker_ready.connect
def _start(sender: Any = None, **_: Any) -> None:
    if get_settings().embedded:
        return  # one process: /readyz knows its own worker thread
    port = get_settings().worker_metrics_port
    if port:  # a worker's own counters (deliveries, mints) for Prometheus to scrape
        from prometheus_client import start_http_server

        start_http_server(port, addr=get_settings().worker_metrics_host)
    hostname = getattr(sender, "hostname", None) or "worker"
    app = getattr(sender, "app", None)
    queues = sorted(app.amqp.queues.consume_from or app.amqp.queues) if app else []
    _stop.clear()
    args = (hostname, queues)
    threading.Thread(target=_beat, args=args, name="jitgate-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_beating(**_: Any) -> None:
    _stop.set()

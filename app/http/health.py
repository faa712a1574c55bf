"""Liveness (`/healthz`, nothing but the process) and readiness (`/readyz`, its dependencies)."""

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.core import metrics
from app.core.db import get_engine
from app.core.errors import Unauthenticated
from app.core.kv import redis_client
from app.core.secrets import constant_time_equal
from app.settings import get_settings

router = APIRouter(tags=["ops"])
REDIS_TIMEOUT_SECONDS = 1.0


@router.get("/metrics", response_class=Response)
def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format; with JITGATE_METRICS_TOKEN set, only for its bearer."""
    expected = get_settings().metrics_token
    if expected:
        sent = request.headers.get("authorization", "")
        if not constant_time_equal(sent.removeprefix("Bearer ").strip(), expected):
            raise Unauthenticated("GET /metrics needs the JITGATE_METRICS_TOKEN bearer token")
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def database_check() -> str:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named below
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def _redis(url: str) -> Any:
    return redis_client(url, REDIS_TIMEOUT_SECONDS)


def redis_and_workers_checks(url: str | None) -> tuple[str, str | None]:
    """(redis, workers) in Redis mode; workers is None when Redis cannot say. Every queue needs a
    live worker: a missing deliveries worker would hold webhooks and callbacks forever."""
    from workers.celery_app import DELIVERIES_QUEUE, QUEUE
    from workers.heartbeat import live_workers

    if not url:
        return "not_configured", None
    try:
        client = _redis(url)
        client.ping()
        counts = live_workers(client, [QUEUE, DELIVERIES_QUEUE], time.time())
    except Exception as exc:  # noqa: BLE001 - redis-py raises several families
        return f"unavailable ({type(exc).__name__})", None
    idle = [queue for queue, n in counts.items() if n == 0]
    if len(idle) == len(counts):
        return "ok", "none"
    return "ok", "ok" if not idle else "none for " + ", ".join(idle)


def beat_check(url: str | None) -> str:
    """Informational (a web process is still ready without beat): when the sweep last ran."""
    from workers.celery_app import SWEEP_SECONDS
    from workers.heartbeat import last_sweep

    if not url:
        return "embedded"
    try:
        ran = last_sweep(_redis(url))
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({type(exc).__name__})"
    if ran is None:
        return "never"
    return "ok" if time.time() - ran <= max(3 * SWEEP_SECONDS, 30) else "late"


def embedded_worker_check(request: Request) -> str:
    worker = getattr(request.app.state, "worker", None)
    return "embedded" if worker is not None and worker.alive() else "none"


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """503 names what is down: the database, Redis, or (Redis mode) every worker."""
    settings = get_settings()
    redis_state, workers_state = redis_and_workers_checks(settings.redis_url)
    checks = {
        "database": database_check(),
        "redis": redis_state,
        "workers": workers_state or "unknown",
    }
    if settings.embedded:
        checks["workers"] = embedded_worker_check(request)
    failing = [name for name, state in checks.items() if state.startswith("unavailable")]
    checks["beat"] = beat_check(settings.redis_url)
    if not settings.embedded and checks["workers"].startswith("none"):
        failing.append("workers")  # requests would be accepted and never announced
    if not failing:
        return JSONResponse({"status": "ready", "checks": checks})
    body = {
        "status": "unavailable",
        "checks": checks,
        "error": "temporarily_unavailable",
        "error_description": "not ready: " + ", ".join(f"{n} {checks[n]}" for n in failing),
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

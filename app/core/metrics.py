"""Prometheus metrics: what a platform team graphs and alerts on (served at GET /metrics).

Label values come from small fixed sets (route templates, status codes, outcomes, channel
slugs, error codes), never from ids or user text, so no caller can grow the series count.
With several web processes (`jitgate serve --workers N`), PROMETHEUS_MULTIPROC_DIR makes
prometheus-client keep the values in files that one scrape adds up.
"""

import os
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

PREFIX = "jitgate_"
HTTP_REQUESTS = Counter(
    PREFIX + "http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    PREFIX + "http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DECISIONS = Counter(
    PREFIX + "decisions_total",
    "Authorization decisions by outcome (allowed, denied, jit_required)",
    ["action", "outcome"],
)
TOKENS_ISSUED = Counter(PREFIX + "tokens_issued_total", "Access tokens issued", ["kind"])
TOKENS_REFUSED = Counter(
    PREFIX + "tokens_refused_total", "Token requests refused, by OAuth error code", ["reason"]
)
JIT_TRANSITIONS = Counter(
    PREFIX + "jit_requests_total", "JIT requests entering each status", ["status"]
)
JIT_DECISION_SECONDS = Histogram(
    PREFIX + "jit_decision_seconds",
    "Time from a JIT request to its decision",
    ["status"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600),
)
DELIVERIES = Counter(
    PREFIX + "notification_deliveries_total",
    "Notification deliveries by channel and outcome",
    ["channel", "kind", "outcome"],
)
OUTBOX_RELAY = Counter(
    PREFIX + "outbox_relay_total",
    "Outbox rows the relay sent again, by kind and outcome (sent, send_failed, gave_up)",
    ["kind", "outcome"],
)
AUDIT_EVENTS_DROPPED = Counter(
    PREFIX + "audit_events_dropped_total",
    "Audit events not queued, by reason (refused_token_backlog: unauthenticated refusals)",
    ["reason"],
)
WRITER_BACKLOG = Gauge(
    PREFIX + "writer_backlog",
    "Rows queued in a batch writer, not yet in the database",
    ["writer"],
    multiprocess_mode="livesum",
)
_backlogs: dict[str, Callable[[], int]] = {}


def watch_backlog(name: str, pending: Callable[[], int]) -> None:
    """Report a batch writer's queue length at each scrape."""
    _backlogs[name] = pending


# The children of HTTP_REQUESTS and HTTP_LATENCY by (method, route, status): labels() takes a
# lock and checks its arguments on every call, twice a request. Bounded like the series
# themselves (route templates, status codes).
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    series = _request_series.get((method, route, status))
    if series is None:
        series = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_LATENCY.labels(method, route),
        )
        if len(_request_series) >= 4096:  # a client inventing methods only empties it
            _request_series.clear()
        _request_series[(method, route, status)] = series
    series[0].inc()
    series[1].observe(seconds)


def decision(action: str, allowed: bool, jit_required: bool) -> None:
    outcome = "allowed" if allowed else ("jit_required" if jit_required else "denied")
    DECISIONS.labels(action, outcome).inc()


def jit_status(status: str, created_at: float | None = None, now: float | None = None) -> None:
    JIT_TRANSITIONS.labels(status).inc()
    if created_at is not None and status in ("approved", "denied", "expired", "cancelled"):
        JIT_DECISION_SECONDS.labels(status).observe(max((now or time.time()) - created_at, 0))


def render() -> tuple[bytes, str]:
    for name, pending in _backlogs.items():
        WRITER_BACKLOG.labels(name).set(pending())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST

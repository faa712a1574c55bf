"""Chaos (issue 14): Redis SIGKILLed under load, a worker killed mid-batch, beat restarted.

Real processes: a web process, one worker per queue (`jitgate`, `jitgate.deliveries`) and beat,
on a redis-server of this test's own (so killing it disturbs nobody), with the suite's database
kind (a private PostgreSQL database when JITGATE_TEST_DATABASE_URL is set, else a SQLite file)
and a webhook receiver counting every delivery by event_id. Dead processes come back only if
docker-compose.yml gives their service a restart policy (tests/integration/chaos_load.py).

With JITGATE_CHAOS_BIN set to another installation's bin directory (CI: a plain `pip install .`
in /tmp/jitgate-plain-venv), the processes are the Procfile's commands run with that
installation's `jitgate` and `celery` from a scratch directory; a directory that is not such an
installation fails the test (tests/integration/stack.py), it never skips it.

Measured figures are printed (and written to $JITGATE_CHAOS_REPORT as JSON when set).
"""

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests import factories
from tests.integration.chaos_load import PERMISSION, Load, Supervisor
from tests.integration.receiver import WebhookReceiver
from tests.integration.redis_server import RedisServer, redis_server_missing
from tests.integration.stack import DELIVERIES_QUEUE, Stack, Web
from tests.internals import JitRequest, make_engine

SWEEP_SECONDS, PENDING_TIMEOUT = 2, 8
OUTAGE_SECONDS = 3.0
RECOVERY_SECONDS = 45.0
# Timeouts shortened in proportion, as tests/integration/stack.py does the visibility timeout's
# (5 s): the outbox relay re-drives a side effect left undone for 5 s instead of 60 s.
ENV = {
    "JITGATE_OUTBOX_RELAY_AFTER_SECONDS": "5",
    "JITGATE_ADDRESS_REQUESTS_PER_MINUTE": "1000000",  # ~20 calls/s from one address
    "JITGATE_SWEEP_SECONDS": str(SWEEP_SECONDS),
}
FINAL = {"approved", "denied", "cancelled", "expired"}
INSTALLED = os.environ.get("JITGATE_CHAOS_BIN")  # asked for explicitly: never skipped

pytestmark = [
    pytest.mark.skipif(
        bool(redis_server_missing()) and not INSTALLED, reason=str(redis_server_missing())
    ),
    pytest.mark.timeout(240),
]


@dataclass
class Chaos:
    stack: Stack
    redis: RedisServer
    web: Web
    supervisor: Supervisor
    receiver: WebhookReceiver

    def rows(self, org_id: str) -> list[JitRequest]:
        engine = make_engine(self.stack.env()["JITGATE_DATABASE_URL"])
        try:
            with Session(engine) as session:
                return list(
                    session.exec(select(JitRequest).where(col(JitRequest.org_id) == org_id))
                )
        finally:
            engine.dispose()


def _database_url() -> str | None:
    url = os.environ.get("JITGATE_TEST_DATABASE_URL")
    if not url:
        return None
    from tests.conftest import _private_postgres_database

    return _private_postgres_database(url)


@pytest.fixture
def chaos() -> Iterator[Chaos]:
    installed = Path(INSTALLED) if INSTALLED else None
    redis = RedisServer().start()
    receiver = WebhookReceiver().start()
    stack = None
    supervisor = None
    try:
        stack = Stack(
            redis_db=0, redis_port=redis.port, database_url=_database_url(), installed=installed
        )
        web = stack.web(**ENV)
        procs = {
            "worker": stack.worker(**ENV),
            "deliveries": stack.worker("deliveries", queues=DELIVERIES_QUEUE, **ENV),
            "beat": stack.beat(**ENV),
        }
        supervisor = Supervisor(stack, procs).start()
        yield Chaos(stack, redis, web, supervisor, receiver)
    finally:
        if supervisor is not None:
            supervisor.stop()
        if stack is not None:
            stack.close()
        receiver.stop()
        redis.stop()


def _org(chaos: Chaos) -> tuple[factories.OrgHandle, list[dict[str, str]], dict[str, str]]:
    created = chaos.stack.cli("orgs", "create", "Chaos", "--json")
    org = factories.OrgHandle(created["org_id"], created["admin_token"])
    import httpx

    with httpx.Client(base_url=chaos.web.url, timeout=30) as client:
        agents = [
            factories.register_agent(client, org, capabilities=[PERMISSION]) for _ in range(3)
        ]
        approver = client.post(
            f"{org.api}/approvers", json={"email": "ops@example.com"}, headers=org.admin
        ).json()
        factories.set_policy(
            client, org, PERMISSION, "jit", approvers=[approver["approver_id"]],
            channels=["webhook"], webhook_url=chaos.receiver.url,
            pending_timeout=f"{PENDING_TIMEOUT}s",
        )  # fmt: skip
        bearers = [agent.bearer(client) for agent in agents]
    return org, bearers, {"Authorization": f"Bearer {approver['api_token']}"}


def _inject_faults(chaos: Chaos) -> dict[str, float]:
    """The timeline, from the start of the load: worker killed at 5 s (back at 6 s), Redis
    SIGKILLed at 8 s for OUTAGE_SECONDS, beat stopped at 13 s (back at 15 s)."""
    sup, marks = chaos.supervisor, {}
    time.sleep(5)
    sup.held.add("worker")
    sup.procs["worker"].kill()  # SIGKILL, mid-batch: no ack, no shutdown
    time.sleep(1)
    sup.replace("worker", chaos.stack.respawn(sup.procs["worker"]))
    time.sleep(2)
    marks["redis_down"] = time.time()
    chaos.redis.kill()
    time.sleep(OUTAGE_SECONDS)
    chaos.redis.start()
    marks["redis_back"] = time.time()
    time.sleep(max(0.0, 13 - 8 - OUTAGE_SECONDS))
    sup.held.add("beat")
    sup.procs["beat"].stop()
    time.sleep(2)
    sup.replace("beat", chaos.stack.respawn(sup.procs["beat"]))
    return marks


def _problems(chaos: Chaos, load: Load, org_id: str) -> list[str]:
    """Everything that is still wrong; empty once the deployment has recovered."""
    problems = [f"{c.what}: {c.status or 'no answer'} {c.detail}" for c in load.fifth_hundreds()]
    seen = {d.event_id for d in chaos.receiver.deliveries}
    now = time.time()
    rows = {row.id: row for row in chaos.rows(org_id)}
    for request_id in load.created:
        row = rows.get(request_id)
        if row is None:
            problems.append(f"{request_id}: accepted (202) but not stored")
            continue
        if not any(e.startswith(f"{request_id}:") for e in seen):
            problems.append(f"{request_id}: never shown on the webhook channel")
        if row.status in FINAL and f"{request_id}:jit_request.{row.status}" not in seen:
            problems.append(f"{request_id}: outcome {row.status} never delivered")
        overdue = row.pending_deadline.timestamp() + 2 * SWEEP_SECONDS + 1 < now
        if row.status == "pending" and overdue:
            problems.append(f"{request_id}: still pending past its deadline and a sweep")
        if row.status == "approved" and row.token_jti is None:
            problems.append(f"{request_id}: approved without a token")
    return problems


def _wait_for_recovery(chaos: Chaos, load: Load, org_id: str) -> tuple[list[str], float]:
    started = time.monotonic()
    while True:
        problems = _problems(chaos, load, org_id)
        if not problems or time.monotonic() - started > RECOVERY_SECONDS:
            return problems, time.monotonic() - started
        time.sleep(1.0)


def _by_kind(problems: list[str]) -> dict[str, int]:
    """'jit_…: never shown on the webhook channel' → counted under what follows the id."""
    kinds: dict[str, int] = {}
    for problem in problems:
        kind = problem.split(": ", 1)[-1] if problem.startswith("jit_") else problem[:60]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def _figures(chaos: Chaos, load: Load, marks: dict[str, float], recovery: float) -> dict:
    deliveries = chaos.receiver.deliveries
    first = chaos.receiver.distinct()
    back = marks["redis_back"]
    late = [
        d.at - max(load.created[d.request_id], back)
        for d in first.values()
        if d.event == "jit_request.pending" and d.at >= back and d.request_id in load.created
    ]
    statuses: dict[int, int] = {}
    for call in load.calls:
        statuses[call.status] = statuses.get(call.status, 0) + 1
    return {
        "processes_from": str(chaos.stack.installed or "the test environment (checkout)"),
        "requests": len(load.created),
        "http_answers_by_status": statuses,
        "answers_5xx_or_none": len(load.fifth_hundreds()),
        "redis_outage_seconds": round(back - marks["redis_down"], 2),
        "max_announce_latency_after_recovery_seconds": round(max(late), 2) if late else None,
        "deliveries": len(deliveries),
        "duplicate_deliveries_same_event_id": len(deliveries) - len(first),
        "processes_died": [(s, log[-300:]) for _, s, log in chaos.supervisor.died],
        "processes_restarted_by_policy": [s for _, s in chaos.supervisor.restarts],
        "seconds_to_recover_after_load": round(recovery, 1),
        "logs": str(chaos.stack.workdir),
    }


def _report(figures: dict[str, Any], capsys: Any) -> None:
    with capsys.disabled():
        print("\nchaos figures:", json.dumps(figures, indent=2))
    if path := os.environ.get("JITGATE_CHAOS_REPORT"):
        with open(path, "w") as out:
            json.dump(figures, out, indent=2)


def test_broker_outage_worker_kill_and_beat_restart_lose_nothing_and_show_no_5xx(chaos, capsys):
    # Given a deployment under ~10 JIT requests/s from three agents, each decided or left to expire
    org, bearers, approver = _org(chaos)
    load = Load(chaos.web.url, org, bearers, approver)
    threads = load.start()

    # When a worker is SIGKILLed, Redis is SIGKILLed for 3 s and beat is stopped, mid-load
    marks = _inject_faults(chaos)
    for thread in threads:
        thread.join(60)
    problems, recovery = _wait_for_recovery(chaos, load, org.org_id)
    lost = [p for p in problems if p.endswith(("never shown on the webhook channel", "delivered"))]
    figures = {
        **_figures(chaos, load, marks, recovery),
        "lost_notifications": len(lost),
        "problems": _by_kind(problems),
    }
    _report(figures, capsys)

    # Then no client saw a 5xx, every request was shown and its outcome delivered, nothing stayed
    # pending past its deadline, every approval has its token, and the audit chain verifies
    verdict = chaos.stack.run_cli("audit", "verify", "--org", org.org_id)
    if verdict.returncode != 0:
        problems.append(f"audit verify: {verdict.stdout.decode()} {verdict.stderr.decode()}")
    assert load.created, "the load never got a request accepted"
    assert problems == [], f"{len(problems)} problems, e.g. {problems[:15]}; figures {figures}"

"""The database goes away under a running deployment and comes back (issue 14, "database
unavailable").

Real processes: a web process and one worker per queue on a redis-server of the test's own, a
PostgreSQL database of the test's own reached through a TCP proxy that the test cuts (every
connection dropped, new ones closed at once, as when PostgreSQL restarts or is unreachable;
the shared server itself is never touched), and a webhook receiver. While it is cut, clients get
503 `temporarily_unavailable` with Retry-After (never a 500), `/readyz` names the database, and
the processes (web, a worker per queue, beat) stay up; once it is back, the same processes
serve again and the work owed is done. Runs with the PostgreSQL suite (JITGATE_TEST_DATABASE_URL).
"""

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests import factories
from tests.integration.db_proxy import CutProxy
from tests.integration.receiver import WebhookReceiver
from tests.integration.redis_server import RedisServer, redis_server_missing
from tests.integration.stack import DELIVERIES_QUEUE, Proc, Stack, Web

PG = os.environ.get("JITGATE_TEST_DATABASE_URL")
PERMISSION = "payments.authorize"
# As in the chaos test: beat sweeps every 2 s, and the relay re-drives what a task left undone
# (a task that lost the database mid-way) after 5 s instead of 60 s.
ENV = {"JITGATE_SWEEP_SECONDS": "2", "JITGATE_OUTBOX_RELAY_AFTER_SECONDS": "5"}
OUTAGE_SECONDS = 6.0
UNAVAILABLE_ANSWERS: list[int] = []  # the status of each call made while the database was cut
pytestmark = [
    pytest.mark.skipif(not PG, reason="needs PostgreSQL (JITGATE_TEST_DATABASE_URL)"),
    pytest.mark.skipif(bool(redis_server_missing()), reason=str(redis_server_missing())),
]


@dataclass
class Outage:
    stack: Stack
    web: Web
    procs: list[Proc]  # a worker per queue and beat
    proxy: CutProxy
    receiver: WebhookReceiver


@pytest.fixture
def outage() -> Iterator[Outage]:
    from tests.conftest import _private_postgres_database

    assert PG is not None
    private = make_url(_private_postgres_database(PG))
    proxy = CutProxy((private.host or "127.0.0.1", private.port or 5432)).start()
    through_proxy = private.set(host="127.0.0.1", port=proxy.port)
    redis = RedisServer().start()
    receiver = WebhookReceiver().start()
    stack = Stack(
        redis_db=0,
        redis_port=redis.port,
        database_url=through_proxy.render_as_string(hide_password=False),
    )
    try:
        web = stack.web(**ENV)
        procs = [
            stack.worker(**ENV),
            stack.worker("deliveries", queues=DELIVERIES_QUEUE, **ENV),
            stack.beat(**ENV),
        ]
        yield Outage(stack, web, procs, proxy, receiver)
    finally:
        stack.close()
        receiver.stop()
        redis.stop()
        proxy.stop()


def eventually(what: str, probe: Callable[[], Any], within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.25)
    raise AssertionError(f"never happened: {what}")


def set_up(dep: Outage, client: httpx.Client) -> tuple[factories.OrgHandle, dict, dict]:
    created = dep.stack.cli("orgs", "create", "Outage", "--json")
    org = factories.OrgHandle(created["org_id"], created["admin_token"])
    agent = factories.register_agent(client, org, capabilities=[PERMISSION])
    approver = client.post(
        f"{org.api}/approvers", json={"email": "ops@example.com"}, headers=org.admin
    ).json()
    factories.set_policy(
        client, org, PERMISSION, "jit", approvers=[approver["approver_id"]],
        channels=["webhook"], webhook_url=dep.receiver.url,
    )  # fmt: skip
    return org, agent.bearer(client), {"Authorization": f"Bearer {approver['api_token']}"}


def ask(client: httpx.Client, org: factories.OrgHandle, bearer: dict) -> httpx.Response:
    body = {"permission": PERMISSION, "justification": "pay", "operation": {"invoice": "INV-9"}}
    return client.post(f"{org.api}/jit/requests", json=body, headers=bearer)


def assert_unavailable(resp: httpx.Response) -> None:
    UNAVAILABLE_ANSWERS.append(resp.status_code)
    assert resp.status_code == 503, f"{resp.request.method} {resp.request.url}: {resp.text}"
    assert resp.json()["error"] == "temporarily_unavailable", resp.text
    assert int(resp.headers["retry-after"]) > 0


def delivered(dep: Outage, request_id: str, event: str) -> bool:
    return f"{request_id}:{event}" in {d.event_id for d in dep.receiver.deliveries}


def test_database_outage_answers_503_names_the_database_and_recovers(outage, capsys):
    dep = outage
    UNAVAILABLE_ANSWERS.clear()
    with httpx.Client(base_url=dep.web.url, timeout=60) as client:
        # Given a deployment that is ready, and a request announced before the outage
        org, bearer, approver = set_up(dep, client)
        eventually("/readyz ready", lambda: client.get("/readyz").status_code == 200)
        before = ask(client, org, bearer)
        assert before.status_code == 202, before.text
        early = before.json()["request_id"]
        eventually("the announcement", lambda: delivered(dep, early, "jit_request.pending"))

        # When the database becomes unreachable
        dep.proxy.cut()
        cut = time.monotonic()

        # Then every client gets a 503 with Retry-After, never a 500, on every kind of route
        while time.monotonic() - cut < OUTAGE_SECONDS:  # across several of beat's sweeps
            assert_unavailable(ask(client, org, bearer))
            time.sleep(0.5)
        assert_unavailable(client.get(f"{org.api}/jit/requests/{early}", headers=bearer))
        assert_unavailable(
            client.post(f"{org.api}/jit/requests/{early}/approve", json={}, headers=approver)
        )
        assert_unavailable(
            client.post(f"{org.api}/authz/check", json={"permission": PERMISSION}, headers=bearer)
        )
        assert_unavailable(client.get(f"{org.api}/agents", headers=org.admin))
        # readiness names the database, liveness stays up, and no process died
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers.get("retry-after")
        assert ready.json()["checks"]["database"].startswith("unavailable"), ready.text
        assert "database" in ready.json()["error_description"]
        assert client.get("/healthz").status_code == 200
        assert all(p.popen.poll() is None for p in [dep.web.proc, *dep.procs])

        # And once the database is back, the same processes serve again: the request accepted
        # before the outage is still there, it is decided, its outcome delivered, and new
        # requests are accepted and announced
        dep.proxy.restore()
        restored = time.monotonic()
        eventually("/readyz ready again", lambda: client.get("/readyz").status_code == 200)
        ready_again = time.monotonic()
        approved = client.post(f"{org.api}/jit/requests/{early}/approve", json={}, headers=approver)
        assert approved.status_code == 200, approved.text
        after = ask(client, org, bearer)
        assert after.status_code == 202, after.text
        later = after.json()["request_id"]
        eventually("the outcome", lambda: delivered(dep, early, "jit_request.approved"))
        eventually("the new announcement", lambda: delivered(dep, later, "jit_request.pending"))
        figures = {
            "database_cut_seconds": round(restored - cut, 2),
            "answers_while_cut": UNAVAILABLE_ANSWERS,
            "seconds_to_ready_after_restore": round(ready_again - restored, 2),
            "seconds_to_outcome_delivered_after_restore": round(time.monotonic() - restored, 2),
        }
        with capsys.disabled():
            print("\ndatabase outage figures:", figures)
        assert all(p.popen.poll() is None for p in [dep.web.proc, *dep.procs])

"""Redis mode for real: two web processes and Celery worker processes on this machine's Redis.

What runs: `uvicorn app.main:create_app --factory` twice (web A and web B, one shared database)
and `celery -A workers.celery_app:celery_app worker --pool threads -c 4 -Q jitgate` (plus one
with `-Q jitgate.deliveries` for webhooks and callbacks), all with
JITGATE_REDIS_URL on Redis database 15 (flushed first). Skipped only when that Redis does not
answer. Set JITGATE_INTEGRATION_DATABASE_URL to run against PostgreSQL instead of a SQLite file
(a database of its own: its schema is dropped and recreated).
"""

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.core.db import make_engine
from app.models import Delivery, JitRequest, OutboxRow
from tests import factories
from tests.drip_http import DripServer
from tests.integration.broker_proxy import BrokerProxy
from tests.integration.receiver import WebhookReceiver
from tests.integration.stack import DELIVERIES_QUEUE, REDIS_HOST, REDIS_PORT, Proc, Stack, Web
from tests.integration.stack import redis_unreachable_reason as _unreachable
from tests.shared_redis import uses_shared_redis

# Concurrent runs on one machine (CI, a developer, helpers) each pick their own database.
REDIS_DB = int(os.environ.get("JITGATE_TEST_REDIS_DB", "15"))
PERMISSION = "payments.authorize"
OPERATION = {"invoice": "INV-42", "amount": 4200, "currency": "EUR"}

pytestmark = [
    pytest.mark.skipif(bool(_unreachable(REDIS_DB)), reason=str(_unreachable(REDIS_DB))),
    uses_shared_redis,
]


@dataclass
class Deployment:
    stack: Stack
    web_a: Web
    web_b: Web
    workers: list[Proc] = field(default_factory=list)

    def client(self, web: Web) -> httpx.Client:
        return httpx.Client(base_url=web.url, timeout=60)

    def db(self) -> Session:
        return Session(make_engine(self.stack.env()["JITGATE_DATABASE_URL"]))

    def run_sweep(self) -> None:
        """What beat does every few seconds, once, now."""
        from celery import Celery

        Celery(broker=self.stack.redis_url).send_task("jitgate.sweep", queue="jitgate")


def _fresh_postgres(url: str) -> None:
    """Leftover pending requests would be swept (and notified) along with this run's."""
    from sqlalchemy import text

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    url = os.environ.get("JITGATE_INTEGRATION_DATABASE_URL")
    if url:
        _fresh_postgres(url)
    stack = Stack(redis_db=REDIS_DB, database_url=url)
    stack.flush_redis()
    try:
        web_a = stack.web("web-a")
        web_b = stack.web("web-b")
        # As the Procfile runs them: one worker per queue, the deliveries worker last.
        # A long delivery deadline keeps the dripping receiver's requests open for a whole test.
        deliveries = stack.worker(
            "deliveries", queues=DELIVERIES_QUEUE, JITGATE_DELIVERY_DEADLINE_SECONDS="120"
        )
        workers = [stack.worker(), deliveries]
        yield Deployment(stack, web_a, web_b, workers)
    finally:
        stack.close()


@dataclass
class Org:
    """An org on the deployment: its admin, one approver, and an agent that asks for payments."""

    handle: factories.OrgHandle
    agent: factories.AgentHandle
    approver_id: str
    approver_headers: dict[str, str]


def make_org(dep: Deployment, **policy: Any) -> Org:
    created = dep.stack.cli("orgs", "create", "Acme", "--json")
    handle = factories.OrgHandle(created["org_id"], created["admin_token"])
    with dep.client(dep.web_a) as client:
        agent = factories.register_agent(client, handle, capabilities=[PERMISSION])
        resp = client.post(
            f"{handle.api}/approvers", json={"email": "ana@example.com"}, headers=handle.admin
        )
        approver = resp.json()
        factories.set_policy(
            client, handle, PERMISSION, "jit", approvers=[approver["approver_id"]], **policy
        )
    headers = {"Authorization": f"Bearer {approver['api_token']}"}
    return Org(handle, agent, approver["approver_id"], headers)


def ask(client: httpx.Client, org: Org, bearer: dict[str, str]) -> str:
    body = {
        "permission": PERMISSION,
        "justification": "pay invoice INV-42, approved budget line 7",
        "expires_in": "5m",
        "operation": OPERATION,
    }
    resp = client.post(f"{org.handle.api}/jit/requests", json=body, headers=bearer)
    assert resp.status_code == 202, resp.text
    return resp.json()["request_id"]


class Waiter(threading.Thread):
    """An agent long-polling its request on one web process."""

    def __init__(self, web: Web, org: Org, request_id: str, bearer: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url = f"{web.url}{org.handle.api}/jit/requests/{request_id}"
        self.bearer, self.view, self.answered_at = bearer, {}, 0.0

    def run(self) -> None:
        resp = httpx.get(self.url, params={"wait": 30}, headers=self.bearer, timeout=40)
        self.answered_at = time.monotonic()
        self.view = resp.json()


def approve(client: httpx.Client, org: Org, request_id: str) -> float:
    url = f"{org.handle.api}/jit/requests/{request_id}/approve"
    started = time.monotonic()
    resp = client.post(url, json={"comment": "ok, budget line 7"}, headers=org.approver_headers)
    assert resp.status_code == 200, resp.text
    return started


def consume(client: httpx.Client, org: Org, token: str, operation: Any = OPERATION) -> Any:
    body = {"token": token, "permission": PERMISSION, "operation": operation}
    return client.post(f"{org.handle.api}/jit/tokens/consume", json=body)


def wait_until(found: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- two web processes ------------------------------------------------------------------------


def test_decision_on_web_a_reaches_the_agent_waiting_on_web_b(deployment):
    org = make_org(deployment)
    with deployment.client(deployment.web_a) as a:
        bearer = org.agent.bearer(a)
        request_id = ask(a, org, bearer)
        waiter = Waiter(deployment.web_b, org, request_id, bearer)
        waiter.start()
        time.sleep(0.5)  # the agent is parked on web B
        approve(a, org, request_id)
        waiter.join(35)

    # approved, so web B learnt of the decision (and of the worker's mint) over Redis pub/sub:
    # its 30 s wait running out would have answered "pending"
    assert waiter.view["status"] == "approved", waiter.view
    assert waiter.view["token"]["scope"] == PERMISSION


def test_an_accepted_request_is_readable_at_once_from_another_web_process(deployment):
    """The 202 promises "stored first": the row must be committed before the answer leaves."""
    org = make_org(deployment)
    with deployment.client(deployment.web_a) as a, deployment.client(deployment.web_b) as b:
        bearer = org.agent.bearer(a)
        unseen = []
        for _ in range(50):
            request_id = ask(a, org, bearer)
            if b.get(f"{org.handle.api}/jit/requests/{request_id}", headers=bearer).is_error:
                unseen.append(request_id)
    assert unseen == [], f"{len(unseen)} of 50 accepted requests were not there yet"


def test_the_whole_story_in_redis_mode(deployment):
    """Request with a justification, approval through the API, the waiting agent's token,
    one use, and every later use refused; the audit chain shows each step."""
    org = make_org(deployment, max_token_ttl="3s")
    with deployment.client(deployment.web_a) as a, deployment.client(deployment.web_b) as b:
        bearer = org.agent.bearer(a)
        request_id = ask(a, org, bearer)
        waiter = Waiter(deployment.web_b, org, request_id, bearer)
        waiter.start()
        time.sleep(0.5)
        approve(a, org, request_id)
        waiter.join(35)
        # woken by the decision on the other process, not by the end of its 30 s wait (which
        # answers "pending"); how fast is bench/bench_jit.py's to measure, not a test's
        assert not waiter.is_alive() and waiter.view["status"] == "approved", waiter.view
        token = waiter.view["token"]["access_token"]

        assert consume(b, org, token, {**OPERATION, "amount": 1}).json()["error"] == (
            "operation_mismatch"
        )
        first = consume(a, org, token)
        assert first.status_code == 200 and first.json()["valid"] is True, first.text
        second = consume(b, org, token)
        assert second.status_code == 409 and second.json()["error"] == "token_already_used"

        # A second approved request whose token outlives its 3 s: the sweep marks it expired.
        request_id_2 = ask(a, org, bearer)
        approve(a, org, request_id_2)
        status = f"{org.handle.api}/jit/requests/{request_id_2}"
        late = wait_until(
            lambda: b.get(status, params={"wait": 10}, headers=bearer).json().get("token"),
            15,
            "the second token",
        )["access_token"]
        time.sleep(3.2)
        deployment.run_sweep()
        wait_until(
            lambda: a.get(status, headers=bearer).json()["status"] == "token_expired",
            15,
            "the sweep to expire the token",
        )
        expired = consume(b, org, late)
        assert expired.status_code == 401 and expired.json()["error"] == "token_expired"

        def trail(target: str) -> list[tuple[str, str]]:
            events = a.get(
                f"{org.handle.api}/audit",
                params={"limit": 200},
                headers=org.handle.admin,
            ).json()["items"]
            return [(e["action"], e["outcome"]) for e in reversed(events) if e["target"] == target]

        # Web B writes refusals in batches of its own: wait for all three to land.
        wait_until(lambda: ("jit.consume", "refused") in trail(request_id_2), 10, "a refusal")
        steps = wait_until(
            lambda: (s := trail(request_id)).count(("jit.consume", "refused")) == 2 and s,
            10,
            "the refusals",
        )
        assert steps[0] == ("jit.request", "pending"), steps
        for step in (("jit.approve", "approved"), ("jit.token_mint", "success")):
            assert step in steps, steps
        assert steps.count(("jit.consume", "consumed")) == 1, steps
        verdict = a.get(f"{org.handle.api}/audit/verify", headers=org.handle.admin).json()
        assert verdict["ok"] is True, verdict


# --- faults -------------------------------------------------------------------------------------


def _announcements(dep: Deployment, request_id: str) -> list[Delivery]:
    with dep.db() as session:
        stmt = select(Delivery).where(
            Delivery.request_id == request_id, Delivery.kind == "announce"
        )
        return list(session.exec(stmt).all())


def test_worker_killed_mid_notification_delivers_once_after_restart(deployment):
    """ "Not twice" given at-least-once HTTP: the worker dies after its POST left and before it
    recorded the delivery, so the receiver may see the same event again after the restart; the
    event id is stable, so the receiver acts on it once, and the service records exactly one
    sent delivery per target. A third POST would be a real double delivery: there is none."""
    receiver = WebhookReceiver(hold_first=True).start()
    try:
        org = make_org(deployment, channels=["webhook"], webhook_url=receiver.url)
        with deployment.client(deployment.web_a) as a:
            request_id = ask(a, org, org.agent.bearer(a))
        assert receiver.held.wait(15), "the worker never started the notification"

        deployment.workers.pop().kill()  # the deliveries worker; SIGKILL: no shutdown, no ack
        receiver.release.set()
        restarted = deployment.stack.worker("deliveries-restarted", queues=DELIVERIES_QUEUE)
        deployment.workers.append(restarted)

        # Redis hands the unacknowledged task out again after JITGATE_VISIBILITY_TIMEOUT (5 s).
        wait_until(lambda: len(receiver.deliveries) >= 2, 30, "the redelivered notification")
        time.sleep(1.0)  # anything still to come would arrive now
        distinct = receiver.distinct()
        assert list(distinct) == [f"{request_id}:jit_request.pending"]
        assert len(receiver.deliveries) == 2, receiver.deliveries
        rows = _announcements(deployment, request_id)
        assert [(r.channel, r.status) for r in rows] == [("webhook", "sent")]
    finally:
        receiver.stop()


def test_request_made_while_the_broker_is_down_is_stored_and_swept_later(deployment):
    proxy = BrokerProxy((REDIS_HOST, REDIS_PORT)).start()
    web_c = deployment.stack.web(
        "web-c", JITGATE_REDIS_URL=f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}"
    )
    receiver = WebhookReceiver().start()
    try:
        org = make_org(deployment, channels=["webhook"], webhook_url=receiver.url)
        with deployment.client(web_c) as c:
            bearer = org.agent.bearer(c)
            proxy.broker_down.set()
            request_id = ask(c, org, bearer)  # 202: stored before anything is enqueued
            wait_until(lambda: proxy.cut > 0, 10, "the enqueue to hit the down broker")
            time.sleep(1.0)  # kombu's publish retries give up
            assert receiver.deliveries == []
            proxy.broker_down.clear()

            with deployment.db() as session:
                row = session.get(JitRequest, request_id)
                assert row is not None and row.status == "pending" and row.notified_at is None
                # The sweep leaves fresh requests to their own task; make this one 60 s old
                # (and its outbox rows due: the relay re-drives the webhook lane's).
                session.execute(
                    update(JitRequest)
                    .where(col(JitRequest.id) == request_id)
                    .values(created_at=row.created_at - timedelta(seconds=60))
                )
                session.execute(
                    update(OutboxRow)
                    .where(col(OutboxRow.request_id) == request_id)
                    .values(next_attempt_at=row.created_at - timedelta(seconds=1))
                )
                session.commit()
            deployment.run_sweep()
            assert receiver.wait_for(1, 20), "the sweep did not re-enqueue the notification"
            assert list(receiver.distinct()) == [f"{request_id}:jit_request.pending"]
            assert (
                c.get(f"{org.handle.api}/jit/requests/{request_id}", headers=bearer).json()[
                    "status"
                ]
                == "pending"
            )
    finally:
        receiver.stop()
        web_c.proc.stop()
        proxy.stop()


def _calls_while_the_broker_is_down(client: httpx.Client, org: Org, bearer: dict, pending: list):
    """Decisions on the pending requests and new requests of the same agent, all at once: each
    commit's publish fails (kombu's channel pool races in create_channel when Redis is gone)."""
    base = f"{org.handle.api}/jit/requests"
    body = {"permission": PERMISSION, "justification": "pay invoice INV-9", "operation": OPERATION}
    calls = [(f"{base}/{rid}/{verb}", {}, org.approver_headers) for rid, verb in pending]
    calls += [(base, {**body, "expires_in": "5m"}, bearer) for _ in pending]

    def call(args: tuple) -> str:
        url, json, headers = args
        try:
            return str(client.post(url, json=json, headers=headers).status_code)
        except httpx.HTTPError as exc:  # no answer at all is as bad as a 5xx
            return type(exc).__name__

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(call, calls))


def test_decisions_and_requests_while_the_broker_is_down_never_answer_5xx(deployment):
    proxy = BrokerProxy((REDIS_HOST, REDIS_PORT)).start()
    web_c = deployment.stack.web(
        "web-c", JITGATE_REDIS_URL=f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}"
    )
    try:
        # Given pending requests of one agent, on a web process whose broker connection breaks
        org = make_org(deployment)
        with deployment.client(web_c) as c:
            bearer = org.agent.bearer(c)
            verbs = ["approve", "deny"] * 2  # with the new ones, within the pending cap (10)
            pending = [(ask(c, org, bearer), verb) for verb in verbs]
            proxy.broker_down.set()

            # When they are decided while the same agent opens new ones, all at once
            answers = _calls_while_the_broker_is_down(c, org, bearer, pending)

            # Then every call was answered: the commits stand, the failed publishes are only
            # logged (the outbox relay sends them later)
            assert answers == {"200": len(pending), "202": len(pending)}, answers
            assert proxy.cut > 0, "the publishes never reached the broken broker"
            for request_id, verb in pending:
                view = c.get(f"{org.handle.api}/jit/requests/{request_id}", headers=bearer)
                assert view.json()["status"] == {"approve": "approved", "deny": "denied"}[verb]
    finally:
        proxy.broker_down.clear()
        web_c.proc.stop()
        proxy.stop()


def test_one_orgs_dripping_callbacks_delay_neither_another_orgs_webhook_nor_its_share(deployment):
    """Security finding 3 on real processes: org A's callbacks drip on the deliveries worker
    (their deadline there is 120 s, so they stay open for the whole test); org B's webhook is
    still delivered while they drip, and A never holds more than its two delivery slots."""
    drip = DripServer(duration=120.0).start()
    receiver = WebhookReceiver().start()
    try:
        org_a = make_org(deployment)
        with deployment.client(deployment.web_a) as a:
            bearer = org_a.agent.bearer(a)
            for n in range(4):
                body = {"permission": PERMISSION, "justification": "pay invoice INV-42, line 7",
                        "operation": OPERATION, "callback_url": drip.url(f"/cb/{n}")}  # fmt: skip
                resp = a.post(f"{org_a.handle.api}/jit/requests", json=body, headers=bearer)
                assert resp.status_code == 202, resp.text
                url = f"{org_a.handle.api}/jit/requests/{resp.json()['request_id']}/cancel"
                assert a.post(url, headers=bearer).status_code == 200
        assert drip.wait_open(2, 30), "org A's callbacks never reached the dripping receiver"

        org_b = make_org(deployment, channels=["webhook"], webhook_url=receiver.url)
        with deployment.client(deployment.web_b) as b:
            request_id = ask(b, org_b, org_b.agent.bearer(b))
        assert receiver.wait_for(1, 30), "org B's webhook waited behind org A's callbacks"
        assert list(receiver.distinct()) == [f"{request_id}:jit_request.pending"]
        assert 1 <= drip.open <= 2, f"{drip.open} of org A's callbacks in flight, cap 2"
    finally:
        drip.stop()
        receiver.stop()

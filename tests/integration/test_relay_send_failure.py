"""The outbox relay when a send fails (issue 14): one request's failure holds back that request
only, a row that never goes out gives up loudly, and a broker that is down ends the pass.

Real parts: the relay publishes through a Redis-backed Celery app (the distributed mode's) to a
redis-server of the test's own, behind a TCP proxy that cuts the connection of any publish
carrying a given request id (or, with the server stopped, every publish fails); the test reads
what reached the queue straight from Redis.
"""

import base64
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import redis
from prometheus_client import REGISTRY
from sqlmodel import select

from app.core.columns import aware, utcnow
from app.core.db import session_scope
from app.jit import outbox
from app.models import OutboxRow
from app.settings import get_settings
from tests.integration.broker_proxy import BrokerProxy
from tests.integration.redis_server import RedisServer, redis_server_missing
from workers import celery_app as celery_module
from workers import relay

pytestmark = pytest.mark.skipif(bool(redis_server_missing()), reason=str(redis_server_missing()))
TASKS = {outbox.ANNOUNCE: "jitgate.notify_request", outbox.OUTCOME: "jitgate.notify_outcome"}


@dataclass
class Broker:
    server: RedisServer
    proxy: BrokerProxy
    poisoned: str  # the request whose publishes the proxy cuts while it is "down"

    def sent(self) -> list[tuple[str, str, int]]:
        """(task, request id, outbox id) of each message about this test's requests in the queue,
        oldest first. The suite's embedded sweep relays through the same app: an earlier test's
        row written after park_other_rows (its late outcome) may be published here too."""
        raw = redis.Redis(port=self.server.port).lrange(celery_module.QUEUE, 0, -1)
        messages = []
        for item in reversed(raw):  # LPUSH in, BRPOP out: the oldest is last
            envelope = json.loads(item)
            args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
            if args[0].startswith(REQUEST_PREFIX):
                messages.append((envelope["headers"]["task"], args[0], kwargs["outbox_id"]))
        return messages


@pytest.fixture
def broker(client, monkeypatch) -> Iterator[Broker]:
    server = RedisServer().start()
    poisoned = request_id("A")
    proxy = BrokerProxy(("127.0.0.1", server.port), markers=(poisoned.encode(),)).start()
    settings = get_settings()
    embedded_url, settings.redis_url = settings.redis_url, f"redis://127.0.0.1:{proxy.port}/0"
    try:
        app = celery_module.make_celery()  # what a distributed worker runs the sweep with
    finally:
        settings.redis_url = embedded_url
    monkeypatch.setattr(celery_module, "celery_app", app)
    parked = park_other_rows()
    try:
        yield Broker(server, proxy, poisoned)
    finally:
        unpark(parked)
        app.close()
        proxy.stop()
        server.stop()


def day_ahead() -> datetime:
    """A day ahead: the suite's embedded sweep (its relay publishes through the same app, and
    runs on the real clock) never finds this test's rows due and so never races the test."""
    return utcnow() + timedelta(days=1)


def park_other_rows() -> dict[int, datetime]:
    """Rows other tests left owed in the suite's database would be relayed with this test's
    (its clock runs a day ahead): set them aside for the test, and give them back after."""
    with session_scope() as session:
        owed = session.exec(select(OutboxRow).where(OutboxRow.status == outbox.PENDING)).all()
        parked = {row.id: row.next_attempt_at for row in owed if row.id is not None}
        for row in owed:
            row.next_attempt_at = datetime(9999, 1, 1, tzinfo=UTC)
    return parked


def unpark(parked: dict[int, datetime]) -> None:
    with session_scope() as session:
        for outbox_id, due in parked.items():
            if (row := session.get(OutboxRow, outbox_id)) is not None:
                row.next_attempt_at = due


REQUEST_PREFIX = "jit_relay"


def request_id(name: str) -> str:
    """Each test's own requests: the suite's database keeps other tests' rows."""
    return f"{REQUEST_PREFIX}{name}{uuid.uuid4().hex[:8]}"


def owe(request_id: str, kind: str, now: datetime) -> int:
    """An outbox row as a state change writes it, its fast-path task lost, due at `now`."""
    with session_scope() as session:
        row = OutboxRow(
            org_id="org_test",
            request_id=request_id,
            kind=kind,
            event_id=outbox.event_id(request_id, kind),
            task=TASKS[kind],
            args=[request_id],
            next_attempt_at=now - timedelta(seconds=1),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def row(outbox_id: int) -> OutboxRow:
    with session_scope() as session:
        found = session.get(OutboxRow, outbox_id)
        assert found is not None
        return found


def counted(kind: str, outcome: str) -> float:
    labels = {"kind": kind, "outcome": outcome}
    return REGISTRY.get_sample_value("jitgate_outbox_relay_total", labels) or 0.0


def test_a_failed_send_holds_back_its_own_request_only_and_keeps_its_order(broker):
    now = day_ahead()
    # Given request A's announcement and outcome, and request B's announcement, all still owed
    a = broker.poisoned
    a_announce, a_outcome = owe(a, outbox.ANNOUNCE, now), owe(a, outbox.OUTCOME, now)
    b = request_id("B")
    b_announce = owe(b, outbox.ANNOUNCE, now)

    # When the relay runs while every publish of request A fails
    broker.proxy.broker_down.set()
    assert relay.relay(now=now) == 1

    # Then B's announcement still went out in this pass, A's failed send counts as an attempt
    # and waits its backoff, and A's outcome did not overtake its announcement
    assert broker.sent() == [("jitgate.notify_request", b, b_announce)]
    assert outbox.mark_done(b_announce)  # as its task does once it has run
    failed = row(a_announce)
    assert (failed.status, failed.attempts) == (outbox.PENDING, 1)
    assert aware(failed.next_attempt_at) - now >= timedelta(
        seconds=get_settings().outbox_relay_after_seconds
    )
    assert row(a_outcome).attempts == 0

    # And once A's messages pass again: its announcement first; its outcome only after the
    # announcement's task marked it done
    broker.proxy.broker_down.clear()
    later = aware(failed.next_attempt_at) + timedelta(seconds=1)
    assert relay.relay(now=later) == 1
    assert outbox.mark_done(a_announce)
    assert relay.relay(now=later) == 1
    assert [(task, outbox_id) for task, _, outbox_id in broker.sent()] == [
        ("jitgate.notify_request", b_announce),
        ("jitgate.notify_request", a_announce),
        ("jitgate.notify_outcome", a_outcome),
    ]


def test_a_row_that_never_goes_out_backs_off_then_gives_up_loudly_and_frees_its_request(
    broker, monkeypatch, caplog
):
    monkeypatch.setattr(get_settings(), "outbox_max_attempts", 2)
    now = day_ahead()
    a = broker.poisoned
    announce, outcome = owe(a, outbox.ANNOUNCE, now), owe(a, outbox.OUTCOME, now)
    failures_before = counted(outbox.ANNOUNCE, "send_failed")
    gave_up_before = counted(outbox.ANNOUNCE, "gave_up")

    # Given an announcement whose every send fails, relayed each time its backoff has passed
    broker.proxy.broker_down.set()
    waits = []
    for attempt in (1, 2):
        assert relay.relay(now=now) == 0
        owed = row(announce)
        assert (owed.status, owed.attempts) == (outbox.PENDING, attempt)
        waits.append(aware(owed.next_attempt_at) - now)
        now = aware(owed.next_attempt_at)
    # the wait doubles, each failure is counted, and the request's outcome keeps waiting,
    assert waits[1] == 2 * waits[0]
    assert counted(outbox.ANNOUNCE, "send_failed") - failures_before == 2
    assert row(outcome).attempts == 0

    # when its attempts are used up, it is marked failed with an error in the log and a metric,
    broker.proxy.broker_down.clear()
    with caplog.at_level(logging.WARNING, logger="workers.relay"):
        assert relay.relay(now=now) == 0
    assert row(announce).status == outbox.FAILED
    assert counted(outbox.ANNOUNCE, "gave_up") - gave_up_before == 1
    gave_up = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert gave_up and f"outbox row {announce}" in gave_up[0].getMessage()
    assert a in gave_up[0].getMessage()

    # and the request is not blocked for ever: its outcome goes out on the next pass
    assert relay.relay(now=now) == 1
    assert [outbox_id for *_, outbox_id in broker.sent()] == [outcome]


def test_a_broker_that_is_down_ends_the_pass_and_leaves_the_other_rows_untouched(broker):
    now = day_ahead()
    owed = [owe(request_id(str(n)), outbox.ANNOUNCE, now) for n in range(6)]
    # Given six requests owed and no broker at all,
    broker.server.kill()
    # when the relay runs, it stops after a few failed sends in a row
    assert relay.relay(now=now) == 0
    attempts = [row(outbox_id).attempts for outbox_id in owed]
    tried = relay.STOP_AFTER_FAILURES_IN_A_ROW
    # then only those few used an attempt; the others wait, untouched, for the next pass
    assert attempts == [1] * tried + [0] * (len(owed) - tried)


def test_a_pass_claims_its_rows_in_one_transaction(broker):
    """A commit per row made a pass over a backlog outlast the broker's visibility timeout on a
    busy SQLite (13-16 s for 20-60 rows in the chaos test), so Redis handed the same sweep out
    again and again, and the copies fought over the write lock."""
    from sqlalchemy import event

    from app.core.db import get_engine

    now = day_ahead()
    owed = [owe(request_id(str(n)), outbox.ANNOUNCE, now) for n in range(20)]
    commits: list[int] = []
    here = threading.get_ident()  # not the embedded workers' commits, which go on meanwhile
    count = lambda _conn: commits.append(1) if threading.get_ident() == here else None  # noqa: E731
    event.listen(get_engine(), "commit", count)
    try:
        assert relay.relay(now=now) == len(owed)
    finally:
        event.remove(get_engine(), "commit", count)
    assert [outbox_id for *_, outbox_id in broker.sent()] == owed
    assert len(commits) == 1

"""Each delivery is claimed (compare-and-set pending → sending) before it is posted, so two tasks
that plan the same delivery never both post it; a claim left by a dead worker goes stale."""

import threading
from datetime import timedelta

from sqlmodel import select

from app.core.columns import utcnow
from app.core.db import session_scope
from app.models import Delivery
from workers import deliveries


def _row(key: str, **values) -> None:
    with session_scope() as session:
        session.add(
            Delivery(dedup_key=key, request_id="jit_x", channel="email", kind="outcome", **values)
        )


def _status(key: str) -> str:
    with session_scope() as session:
        return session.exec(select(Delivery.status).where(Delivery.dedup_key == key)).one()


def test_a_delivery_is_claimed_once_until_it_is_recorded(client):
    key = "claim-test:" + utcnow().isoformat()
    _row(key)
    state, claimed_at = deliveries._claim(key)
    assert state == deliveries.CLAIMED and claimed_at is not None
    assert deliveries._claim(key)[0] == deliveries.BUSY  # a second task must not post it too
    deliveries._record(key, status="sent", claimed_at=claimed_at)
    assert deliveries._claim(key)[0] == deliveries.DONE and _status(key) == "sent"


def test_a_transient_failure_releases_the_claim(client):
    key = "release-test:" + utcnow().isoformat()
    _row(key)
    _, claimed_at = deliveries._claim(key)
    deliveries._record(key, status="pending", claimed_at=claimed_at, error="smtp down")
    assert deliveries._claim(key)[0] == deliveries.CLAIMED


def test_a_claim_older_than_the_visibility_timeout_is_taken_over(client):
    key = "stale-test:" + utcnow().isoformat()
    old = utcnow() - timedelta(seconds=deliveries.VISIBILITY_TIMEOUT + 1)
    _row(key, status="sending", updated_at=old)  # its worker died mid-send
    assert deliveries._claim(key)[0] == deliveries.CLAIMED


def test_a_task_that_lost_its_claim_cannot_undo_the_new_one(client):
    key = "late-test:" + utcnow().isoformat()
    old = utcnow() - timedelta(seconds=deliveries.VISIBILITY_TIMEOUT + 1)
    _row(key, status="sending", updated_at=old)  # task A, slow but alive, claimed long ago
    state, claimed_by_b = deliveries._claim(key)  # task B takes the stale claim over
    assert state == deliveries.CLAIMED
    deliveries._record(key, status="pending", claimed_at=old, error="A timed out at last")
    assert deliveries._claim(key)[0] == deliveries.BUSY  # B's claim still stands: no task C
    deliveries._record(key, status="sent", claimed_at=claimed_by_b)
    assert _status(key) == "sent"


def test_the_sweep_runs_again_the_task_of_a_delivery_stuck_in_sending(client, org, agent):
    from tests.channels.flow import ask, wait_for

    # given a request whose announcement was claimed by a task that died mid-send
    from tests.factories import set_policy

    set_policy(client, org, "payments.authorize", "jit", groups=["finance"], channels=["log"])
    request_id = ask(client, agent)["request_id"]

    def statuses() -> list[str]:
        with session_scope() as session:
            stmt = select(Delivery.status).where(Delivery.request_id == request_id)
            return list(session.exec(stmt).all())

    wait_for(lambda: statuses() == ["sent"])  # the announcement went out; now pretend it hung
    old = utcnow() - timedelta(seconds=deliveries.VISIBILITY_TIMEOUT + 1)
    with session_scope() as session:
        for row in session.exec(select(Delivery).where(Delivery.request_id == request_id)):
            row.status, row.updated_at = "sending", old
            session.add(row)
    # when the sweep runs
    from workers.tasks import sweep

    assert sweep()["stuck_redelivered"] >= 1
    # then the announcement is delivered by the task it sent again
    wait_for(lambda: statuses() == ["sent"])


def test_concurrent_claims_let_exactly_one_task_post(client):
    key = "race-test:" + utcnow().isoformat()
    _row(key)
    start, results = threading.Barrier(8), []

    def claim() -> None:
        start.wait()
        results.append(deliveries._claim(key))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[0] for r in results) == [deliveries.BUSY] * 7 + [deliveries.CLAIMED]

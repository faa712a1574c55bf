"""Each delivery is claimed (compare-and-set pending → sending) before it is posted, so two tasks
that plan the same delivery never both post it; a claim left by a dead worker goes stale."""

import threading
from datetime import timedelta

from sqlmodel import select

from app.db import session_scope
from app.models import Delivery
from app.models._types import utcnow
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
    assert deliveries._claim(key) == deliveries.CLAIMED
    assert deliveries._claim(key) == deliveries.BUSY  # a second task must not post it too
    deliveries._record(key, status="sent")
    assert deliveries._claim(key) == deliveries.DONE and _status(key) == "sent"


def test_a_transient_failure_releases_the_claim(client):
    key = "release-test:" + utcnow().isoformat()
    _row(key)
    assert deliveries._claim(key) == deliveries.CLAIMED
    deliveries._record(key, status="pending", error="smtp down")
    assert deliveries._claim(key) == deliveries.CLAIMED


def test_a_claim_older_than_the_visibility_timeout_is_taken_over(client):
    key = "stale-test:" + utcnow().isoformat()
    old = utcnow() - timedelta(seconds=deliveries.VISIBILITY_TIMEOUT + 1)
    _row(key, status="sending", updated_at=old)  # its worker died mid-send
    assert deliveries._claim(key) == deliveries.CLAIMED


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
    assert sorted(results) == [deliveries.BUSY] * 7 + [deliveries.CLAIMED]

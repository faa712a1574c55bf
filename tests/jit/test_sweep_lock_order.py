"""The sweep takes its locks in the order every decision takes them (issue 14, found by the chaos
test on PostgreSQL): a request's row, then its org's audit head, one request per transaction.

It used to expire every overdue request in one transaction, so after the first one it held the
org's audit head while it waited for the next request's row; a cancel (or approval, or denial)
holding that row and waiting for the audit head was then a deadlock, and the client got a 5xx.
"""

import os
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.core.columns import utcnow
from app.core.db import make_engine, session_scope
from app.models import JitRequest
from workers import tasks

pytestmark = pytest.mark.skipif(
    not os.environ.get("JITGATE_TEST_DATABASE_URL"), reason="row locks: the PostgreSQL suite"
)


def _sweep_waits_for_a_row(conn) -> bool:
    """The sweep's expiry (its UPDATE bounded by the deadline) waits for a row lock."""
    return bool(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE jit_request SET status=%' "
                "AND query LIKE '%pending_deadline <=%'"
            )
        ).scalar()
    )


def test_a_decision_racing_the_sweep_over_two_overdue_requests_is_no_deadlock(jit, agent, alice):
    # Given two requests of one org, both past their deadline
    jit.policy([alice])
    first, second = (jit.pending(agent)["request_id"] for _ in range(2))
    with session_scope() as session:
        for request_id in (first, second):
            session.get(JitRequest, request_id).pending_deadline = utcnow() - timedelta(seconds=1)
    engine = make_engine(os.environ["JITGATE_DATABASE_URL"])
    watcher = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    decision = engine.connect()
    try:
        # and a decision on the second one that has taken its row, as cancel does first,
        tx = decision.begin()
        decision.execute(
            text("UPDATE jit_request SET status = 'cancelled' WHERE id = :id"), {"id": second}
        )
        # when the sweep runs and comes to wait for that row,
        outcome: dict[str, object] = {}

        def sweep() -> None:
            try:
                outcome["counts"] = tasks.sweep()
            except Exception as exc:  # noqa: BLE001 - what the test is about
                outcome["error"] = exc

        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        deadline = time.monotonic() + 60
        while not _sweep_waits_for_a_row(watcher) and time.monotonic() < deadline:
            time.sleep(0.05)
        # and the decision goes on to the org's audit head,
        try:
            decision.execute(
                text("UPDATE org SET audit_seq = audit_seq WHERE id = :org"),
                {"org": jit.org.org_id},
            )
            tx.commit()
            decided: object = True
        except OperationalError as exc:
            tx.rollback()
            decided = exc
        sweeper.join(60)
    finally:
        decision.close()
        watcher.close()
        engine.dispose()

    # then both finish: the decision stands, the sweep expired the other request
    assert decided is True, decided
    assert "error" not in outcome, outcome
    with session_scope() as session:
        assert session.get(JitRequest, first).status == "expired"
        assert session.get(JitRequest, second).status == "cancelled"

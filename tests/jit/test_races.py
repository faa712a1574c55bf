"""Races the compare-and-set transitions must settle: one winner, the losers get 409."""

import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from app.audit import service as audit
from app.core.columns import utcnow
from app.core.db import get_engine, session_scope
from app.identity import rate_limits
from app.jit import minting
from app.jit import state_machine as jit_service
from app.jit.state_machine import aware
from app.models import Agent, IssuedToken, JitRequest
from tests.helpers import audit_events

CONSUMERS = 50
ROUNDS = 6


def test_fifty_concurrent_consumes_succeed_exactly_once(jit, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    start = Barrier(CONSUMERS)

    def consume() -> int:
        start.wait()
        return jit.consume(token).status_code

    with ThreadPoolExecutor(CONSUMERS) as pool:
        statuses = Counter(pool.map(lambda _: consume(), range(CONSUMERS)))

    assert statuses == {200: 1, 409: CONSUMERS - 1}
    trail = audit_events(jit.client, jit.org, action="jit.consume")
    outcomes = Counter((e["target"], e["outcome"]) for e in trail)
    assert outcomes == {(request_id, "consumed"): 1, (request_id, "refused"): CONSUMERS - 1}


def _jit_tokens_for(request_id: str) -> int:
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        assert row is not None
        stmt = (
            select(func.count())
            .select_from(IssuedToken)
            .where(IssuedToken.agent_id == row.agent_id, IssuedToken.kind == "jit")
        )
        return session.exec(stmt).one()


def _race_once(jit, agent, approver, denier) -> tuple[str, dict[str, object]]:
    request_id = jit.pending(agent)["request_id"]
    with session_scope() as session:
        deadline = aware(session.get(JitRequest, request_id).pending_deadline)
    start = Barrier(3)

    def approve() -> int:
        start.wait()
        return jit.decide(request_id, approver, "approve").status_code

    def deny() -> int:
        start.wait()
        return jit.decide(request_id, denier, "deny").status_code

    def expire() -> bool:
        start.wait()
        with session_scope() as session:
            return jit_service.expire(
                session, request_id=request_id, now=deadline + timedelta(seconds=1)
            )

    with ThreadPoolExecutor(3) as pool:
        futures = {
            name: pool.submit(fn)
            for name, fn in [("approve", approve), ("deny", deny), ("expire", expire)]
        }
        return request_id, {name: f.result() for name, f in futures.items()}


def test_approve_deny_and_expiry_race_to_exactly_one_end_state(jit, client, agent, alice, bob):
    jit.policy([alice, bob])
    winners: Counter[str] = Counter()
    for _ in range(ROUNDS):
        request_id, outcome = _race_once(jit, agent, alice, bob)
        won = [name for name, result in outcome.items() if result in (200, True)]
        lost = [result for name, result in outcome.items() if name not in won]
        assert len(won) == 1, outcome
        assert all(result in (409, False) for result in lost), outcome
        status = {"approve": "approved", "deny": "denied", "expire": "expired"}[won[0]]
        view = jit.get(request_id, agent.bearer(client), wait=10 if status == "approved" else 0)
        assert view["status"] == status
        assert ("token" in view) == (status == "approved")
        winners[won[0]] += 1
    mints = [e["target"] for e in audit_events(client, jit.org, action="jit.token_mint")]
    assert len(mints) == len(set(mints)) == winners["approve"]
    assert _jit_tokens_for(request_id) == winners["approve"]


def test_redelivered_mint_tasks_mint_one_token(jit, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)

    def mint_again() -> bool:
        with session_scope() as session:
            return minting.mint_token(session, request_id=request_id)

    with ThreadPoolExecutor(8) as pool:
        assert not any(pool.map(lambda _: mint_again(), range(8)))
    assert jit.token(agent, request_id) == token
    assert _jit_tokens_for(request_id) == 1


def _done_or_waiting_on_a_lock(future: Future, seconds: float = 60) -> None:
    """Until the thread has finished or PostgreSQL shows a session of this database waiting for
    a lock (bounded generously; whichever comes first ends the wait, there is no timing)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    ends = time.monotonic() + seconds
    with get_engine().connect() as probe:
        while not future.done() and time.monotonic() < ends:
            if probe.execute(waiting).scalar_one():
                return
            probe.rollback()
            time.sleep(0.05)


def test_approval_does_not_deadlock_with_a_new_request_of_the_same_agent(jit, agent, alice):
    if get_engine().dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises every writer")
    # Given a pending request, and a second request of the same agent being opened: it holds the
    # agent's row (the pending cap) and has yet to append its event to the org's audit chain
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    with ThreadPoolExecutor(1) as pool, session_scope() as opening:
        holder = opening.get(Agent, agent.agent_id)
        rate_limits.admit_jit_request(opening, agent=holder, now=utcnow())

        # When an approver approves the first request meanwhile (its token is minted in the same
        # transaction), then the opening request appends to the chain and commits
        approval = pool.submit(jit.decide, request_id, alice)
        _done_or_waiting_on_a_lock(approval)
        event = audit.EventIn(
            org_id=jit.org.org_id, actor=agent.agent_id, action="jit.request",
            target="jit_opening", outcome="pending", reason="", ts=utcnow(), details={},
        )  # fmt: skip
        audit.record(opening, event)

    # Then neither waits for the other: the approval succeeds (no deadlock, no 500)
    resp = approval.result(timeout=60)
    assert resp.status_code == 200, resp.text
    assert jit.get(request_id, agent.bearer(jit.client))["status"] == "approved"

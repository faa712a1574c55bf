"""Hypothesis stateful test of the JIT request state machine, through the service layer.

Random sequences of create, approve (two of three approvers), deny, cancel, expire, consume,
revoke, token expiry and redelivered worker tasks run against the suite's database (SQLite, or
PostgreSQL with JITGATE_TEST_DATABASE_URL). A small model predicts every answer; after each step
the database must agree with it: one final status reached along the state machine's edges, at
most one token and one successful consume, and every transition audited, in sequence order.
At the end of each example every outbox row of its requests is done once the relay has run.
"""

import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from celery.exceptions import Retry
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import col, select

from tests import factories
from tests.internals import (
    EDGES,
    HAS_TOKEN,
    PENDING,
    REDELIVERABLE,
    STATUSES,
    Approver,
    AuditEvent,
    JitgateError,
    JitRequest,
    NotifierUnavailable,
    OutboxRow,
    create_request,
    jit_service,
    jit_tokens,
    relay,
    revocation,
    session_scope,
    token_expiry,
    token_for_agent,
)
from tests.jit.conftest import OPERATION, PERMISSION

APPROVERS, REQUIRED = 3, 2
# Few requests per example, so that the rules meet on the same request often (a quorum, then a
# redelivered mint); well below the agent's pending cap (10), which is not under test here.
MAX_REQUESTS = 3
VERBS = st.sampled_from(["approve", "deny"])
SETTINGS = settings(
    max_examples=20,
    stateful_step_count=40,
    deadline=None,  # a busy 2-core machine: the properties matter, not the timings
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class World:
    """What every example shares: the org's client, its admin handle and its approvers."""

    client: object
    org: factories.OrgHandle
    approver_ids: list[str]


@dataclass
class Expected:
    """The model of one request: what the service must answer and store next."""

    deadline: datetime
    status: str = PENDING
    history: list[str] = field(default_factory=lambda: [PENDING])
    deciders: set[str] = field(default_factory=set)
    approvals: int = 0
    token: str | None = None
    jti: str | None = None
    token_expires_at: datetime | None = None
    consumed: int = 0

    def move(self, status: str) -> None:
        assert status in EDGES.get(self.status, set()), (self.status, status)
        self.status = status
        self.history.append(status)


class JitMachine(RuleBasedStateMachine):
    world: World  # set by the test before the machine runs
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        # A fresh agent per example keeps its pending cap and hourly budget out of the picture.
        handle = factories.register_agent(
            self.world.client, self.world.org, capabilities=[PERMISSION]
        )
        self.agent_id = handle.agent_id
        self.model: dict[str, Expected] = {}

    # --- rules ------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model) < MAX_REQUESTS)
    @rule(target=requests)
    def create(self) -> str:
        with session_scope() as session:
            row, created = create_request(
                session,
                org_id=self.world.org.org_id,
                agent_id=self.agent_id,
                permission=PERMISSION,
                justification="pay invoice INV-7 for the customer",
                operation=OPERATION,
            )
            assert created
            request_id, deadline = row.id, jit_service.aware(row.pending_deadline)
        self.model[request_id] = Expected(deadline=deadline)
        return request_id

    @rule(request_id=requests, who=st.integers(0, APPROVERS - 1), verb=VERBS)
    def decide(self, request_id: str, who: int, verb: str) -> None:
        self._decide_as(request_id, self.world.approver_ids[who], verb)

    @rule(request_id=requests)
    def approve_by_next_approver(self, request_id: str) -> None:
        """Approvers who have not decided yet, in turn: the way to a quorum is not left to luck."""
        deciders = self.model[request_id].deciders
        fresh = [a for a in self.world.approver_ids if a not in deciders]
        self._decide_as(request_id, fresh[0] if fresh else self.world.approver_ids[0], "approve")

    def _decide_as(self, request_id: str, approver_id: str, verb: str) -> None:
        expected = self.model[request_id]
        allowed = expected.status == PENDING and approver_id not in expected.deciders
        error = self._attempt(lambda s: self._decide(s, request_id, approver_id, verb))
        assert (error is None) == allowed, (expected, verb, error)
        if not allowed:
            return
        expected.deciders.add(approver_id)
        if verb == "deny":
            expected.move(jit_service.DENIED)
            return
        expected.approvals += 1
        if expected.approvals >= REQUIRED:
            expected.move(jit_service.APPROVED)
            self._remember_token(request_id)

    @rule(request_id=requests)
    def cancel(self, request_id: str) -> None:
        expected = self.model[request_id]
        error = self._attempt(
            lambda s: jit_service.cancel(
                s, org_id=self.world.org.org_id, request_id=request_id, agent_id=self.agent_id
            )
        )
        assert (error is None) == (expected.status == PENDING), (expected, error)
        if error is None:
            expected.move(jit_service.CANCELLED)

    @rule(request_id=requests)
    def expire(self, request_id: str) -> None:
        """The sweep (or the expiry task) running once the request's deadline has passed."""
        expected = self.model[request_id]
        later = expected.deadline + timedelta(seconds=1)
        with session_scope() as session:
            won = jit_service.expire(session, request_id=request_id, now=later)
        assert won == (expected.status == PENDING), (expected, won)
        if won:
            expected.move(jit_service.EXPIRED)

    @rule(request_id=requests, same_operation=st.booleans())
    def consume(self, request_id: str, same_operation: bool) -> None:
        expected = self.model[request_id]
        if expected.token is None:
            return  # never approved: there is no token to present
        operation = OPERATION if same_operation else {**OPERATION, "amount": 1}
        error = self._attempt(
            lambda s: jit_tokens.consume(
                s,
                org_id=self.world.org.org_id,
                token=expected.token,
                permission=PERMISSION,
                operation=operation,
            )
        )
        allowed = expected.status == jit_service.APPROVED and same_operation
        assert (error is None) == allowed, (expected, same_operation, error)
        if allowed:
            expected.consumed += 1
            expected.move(jit_service.CONSUMED)

    @rule(request_id=requests)
    def revoke(self, request_id: str) -> None:
        expected = self.model[request_id]
        error = self._attempt(
            lambda s: revocation.revoke(
                s, org_id=self.world.org.org_id, request_id=request_id, actor="admin:test"
            )
        )
        assert (error is None) == (expected.status == jit_service.APPROVED), (expected, error)
        if error is None:
            expected.move(jit_service.REVOKED)

    @rule(request_id=requests)
    def expire_tokens(self, request_id: str) -> None:
        """The sweep once this request's token (and every token minted before it) has expired."""
        moment = self.model[request_id].token_expires_at
        if moment is None:
            return
        later = moment + timedelta(seconds=1)
        with session_scope() as session:
            expired = set(token_expiry.expire_tokens(session, now=later))
        due = {
            rid
            for rid, e in self.model.items()
            if e.status == jit_service.APPROVED
            and e.token_expires_at
            and e.token_expires_at <= later
        }
        # Only this example's requests are modelled; other examples' approvals may expire too.
        assert expired & set(self.model) == due, (expired, due)
        for rid in due:
            self.model[rid].move(jit_service.TOKEN_EXPIRED)

    # A task handed out again (a lost ack, the sweep's resend) must change no state. The expiry
    # task runs on the real clock, before any modelled deadline, so it too must be a no-op.
    @rule(request_id=requests)
    def redeliver_mint(self, request_id: str) -> None:
        REDELIVERABLE["mint_token"](request_id)

    @rule(request_id=requests)
    def redeliver_expiry(self, request_id: str) -> None:
        REDELIVERABLE["expire_request"](request_id)

    @rule(request_id=requests)
    def redeliver_announce(self, request_id: str) -> None:
        _redeliver("notify_request", request_id)

    @rule(request_id=requests)
    def redeliver_outcome(self, request_id: str) -> None:
        _redeliver("notify_outcome", request_id)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        if not self.model:
            return
        with session_scope() as session:
            rows = session.exec(select(JitRequest).where(col(JitRequest.id).in_(self.model))).all()
            events = session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.target).in_(self.model))
                .order_by(col(AuditEvent.seq))
            ).all()
        for row in rows:
            self._check_row(row, [e for e in events if e.target == row.id])

    def _check_row(self, row: JitRequest, events: list[AuditEvent]) -> None:
        expected = self.model[row.id]
        assert row.status == expected.status, (row.id, row.status, expected)
        # The token: there from the approval on, one of it, and never replaced.
        assert (row.token_jti is not None) == (row.status in HAS_TOKEN), (row.id, row.status)
        assert row.token_jti == expected.jti, (row.id, row.token_jti, expected.jti)
        transitions = [e.outcome for e in events if e.outcome in STATUSES]
        assert transitions == expected.history, (row.id, transitions, expected.history)
        mints = [e for e in events if e.action == "jit.token_mint" and e.outcome == "success"]
        assert len(mints) == (1 if expected.jti else 0), (row.id, mints)
        consumes = [e for e in events if e.action == "jit.consume" and e.outcome == "consumed"]
        assert len(consumes) == expected.consumed <= 1, (row.id, consumes)

    def teardown(self) -> None:
        """Every side effect the example's changes owed is eventually done once the relay runs.
        Each pass is a day later than the last, so no backoff holds a row back; a row waiting
        for its announcement is sent by a later pass (eight passes: the attempt limit is ten)."""
        for attempt in range(1, 9):
            relay(now=datetime.now(UTC) + timedelta(days=attempt))
            deadline = time.monotonic() + 1.5
            while (owed := self._owed()) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not owed:
                return
        raise AssertionError(f"outbox rows never done after eight relay passes: {owed}")

    def _owed(self) -> list[tuple[str, str, str]]:
        if not self.model:
            return []
        with session_scope() as session:
            rows = session.exec(
                select(OutboxRow).where(col(OutboxRow.request_id).in_(self.model))
            ).all()
            return [(r.request_id, r.kind, r.status) for r in rows if r.status != "done"]

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _attempt(call) -> JitgateError | None:
        """Run one service call in its own transaction; a refusal rolls it back, as a route would."""
        try:
            with session_scope() as session:
                call(session)
        except JitgateError as exc:
            return exc
        return None

    @staticmethod
    def _decide(session, request_id: str, approver_id: str, verb: str) -> None:
        approver = session.get(Approver, approver_id)
        jit_service.decide(session, request_id=request_id, approver=approver, decision=verb)

    def _remember_token(self, request_id: str) -> None:
        with session_scope() as session:
            row = session.get(JitRequest, request_id)
            token = token_for_agent(row)
            assert token is not None, "approval and token are one transaction"
            expected = self.model[request_id]
            expected.token, expected.jti = token["access_token"], row.token_jti
            expected.token_expires_at = jit_service.aware(row.token_expires_at)


def _redeliver(task: str, request_id: str) -> None:
    """A notification task run again while the embedded worker may be running its first copy:
    it either finds the work done or, seeing a delivery claimed by that copy, asks to be retried
    later (what a worker would do with it). Neither may change the request."""
    with contextlib.suppress(NotifierUnavailable, Retry):
        REDELIVERABLE[task](request_id)


# 20 examples of 40 steps: about a minute alone, several when pytest -n workers share two cores.
@pytest.mark.timeout(420)
def test_jit_requests_keep_their_invariants_under_any_sequence_of_events(client, org, jit):
    approvers = [jit.approver(name) for name in ("ana", "ben", "cyd")]
    jit.policy(approvers, approvals_required=REQUIRED)
    JitMachine.world = World(client, org, [a.approver_id for a in approvers])
    run_state_machine_as_test(JitMachine, settings=SETTINGS)

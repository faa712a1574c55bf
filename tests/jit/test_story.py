"""The issue's "done when" story in embedded mode (the Redis-mode twin is in tests/integration)."""

import threading
import time
from datetime import timedelta

from app.core import events
from app.core.db import session_scope
from app.jit import token_expiry
from app.jit.state_machine import aware
from app.models import JitRequest
from tests.helpers import audit_events
from tests.jit.conftest import OPERATION, PERMISSION


def _wait_for_subscriber(before: int) -> None:
    deadline = time.monotonic() + 5
    while events.hub.subscriber_count() <= before:
        assert time.monotonic() < deadline, "the agent never started waiting"
        time.sleep(0.01)


def test_request_approve_wait_use_once_and_every_later_use_is_refused(
    jit, client, org, agent, alice
):
    jit.policy([alice])
    bearer = agent.bearer(client)
    request_id = jit.pending(agent, justification="pay invoice INV-7 (budget line 7)")["request_id"]
    waited: dict = {}

    def wait() -> None:
        waited["view"] = jit.get(request_id, bearer, wait=30)
        waited["at"] = time.monotonic()

    before = events.hub.subscriber_count()
    waiter = threading.Thread(target=wait)
    waiter.start()
    _wait_for_subscriber(before)
    decided = time.monotonic()
    assert jit.decide(request_id, alice).status_code == 200
    waiter.join(35)

    assert waited["at"] - decided < 1.0, "bench/bench_jit.py measures the p95; this is a bound"
    token = waited["view"]["token"]["access_token"]
    assert jit.consume(token, operation={**OPERATION, "amount": 1}).json()["error"] == (
        "operation_mismatch"
    )
    assert jit.consume(token).status_code == 200
    assert jit.consume(token).json()["error"] == "token_already_used"

    later, late_token = jit.approved_token(agent, alice)
    with session_scope() as session:
        expires = aware(session.get(JitRequest, later).token_expires_at)
        token_expiry.expire_tokens(session, now=expires + timedelta(seconds=1))
    expired = jit.consume(late_token)
    assert expired.status_code == 401 and expired.json()["error"] == "token_expired"

    trail = [e for e in reversed(audit_events(client, org)) if e["target"] == request_id]
    steps = [(e["action"], e["outcome"]) for e in trail]
    assert steps[:4] == [
        ("jit.request", "pending"),
        ("jit.approve", "recorded"),  # alice's decision
        ("jit.approve", "approved"),  # the request's transition
        ("jit.token_mint", "success"),
    ]
    # Refusals are written apart from the rolled-back request, so only their count is fixed.
    assert sorted(steps[4:]) == [("jit.consume", "consumed")] + [("jit.consume", "refused")] * 2
    refused = {e["details"]["error"] for e in trail if e["outcome"] == "refused"}
    assert refused == {"operation_mismatch", "token_already_used"}
    assert trail[0]["reason"] == "pay invoice INV-7 (budget line 7)"
    assert trail[0]["details"]["permission"] == PERMISSION
    verdict = client.get(f"{org.api}/audit/verify", headers=org.admin).json()
    assert verdict["ok"] is True, verdict

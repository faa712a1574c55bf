"""JIT approvals end to end against a real server: request, human decision, single use.

These need the server's approvers and jit routes; until those exist they are skipped with
that reason (never silently).
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from jitgate import (
    AgentAuth,
    JitDenied,
    OperationMismatch,
    SyncAgentAuth,
    TokenAlreadyUsed,
    requires,
)
from jitgate.demo import run_demo
from jitgate.resource import TokenVerifier

OPERATION = {"invoice": "INV-7", "amount": 120}


@pytest.fixture(autouse=True)
def _jit_routes(live_server, live_agent) -> None:
    if live_agent.approver_token is None:
        pytest.skip("server has no approvers/JIT API yet (POST approvers is 404)")


def approve_in_background(admin, approver_token: str, deny: bool = False):
    """An on_pending hook: a human decides a moment after the request appears."""

    def decide(approval) -> None:
        def later() -> None:
            if deny:
                admin.deny(approval.request_id, approver_token, reason="not this one")
            else:
                admin.approve(approval.request_id, approver_token)

        threading.Timer(0.3, later).start()

    return decide


def test_approved_request_yields_a_token_that_works_exactly_once(live_admin, live_agent, live_auth):
    approval = live_auth.request_jit_permission(
        "payments.authorize",
        "pay INV-7",
        "5m",
        OPERATION,
        timeout=30,
        on_pending=approve_in_background(live_admin, live_agent.approver_token),
    )
    assert approval.granted and approval.status == "approved" and approval.expires_at

    assert live_auth.consume_jit_token(approval.token, "payments.authorize", OPERATION)["valid"]
    with pytest.raises(TokenAlreadyUsed):
        live_auth.consume_jit_token(approval.token, "payments.authorize", OPERATION)


def test_resource_server_redeems_the_jit_token_and_refuses_another_operation(
    live_server, live_admin, live_agent, live_auth
):
    approval = live_auth.request_jit_permission(
        "payments.authorize",
        "pay INV-7",
        operation=OPERATION,
        timeout=30,
        on_pending=approve_in_background(live_admin, live_agent.approver_token),
    )
    verifier = TokenVerifier(f"{live_server.base_url}/orgs/{live_server.org_id}")
    assert verifier.verify(approval.token).jit["request_id"] == approval.request_id
    with pytest.raises(OperationMismatch):
        verifier.consume_jit(approval.token, "payments.authorize", {"invoice": "other"})
    assert verifier.consume_jit(approval.token, "payments.authorize", OPERATION)["valid"]


def test_denied_request_reports_the_reason_and_raises_jit_denied(live_admin, live_agent, live_auth):
    approval = live_auth.request_jit_permission(
        "payments.authorize",
        "pay INV-8",
        timeout=30,
        on_pending=approve_in_background(live_admin, live_agent.approver_token, deny=True),
    )
    assert approval.status == "denied" and not approval.granted
    with pytest.raises(JitDenied):
        approval.raise_for_status()


def test_pending_request_can_be_resumed_later(live_admin, live_agent, live_auth):
    pending = live_auth.request_jit_permission("payments.authorize", "x", wait=False)
    assert pending.status == "pending" and pending.request_id.startswith("jit_")
    resumer = SyncAgentAuth.from_credentials(live_auth.credentials)
    live_admin.approve(pending.request_id, live_agent.approver_token)
    assert resumer.wait_for_approval(pending.request_id, timeout=30).granted


def test_guarded_function_waits_for_the_human_and_runs_exactly_once(
    live_admin, live_agent, live_auth
):
    calls: list[int] = []

    @requires(
        "payments.authorize",
        jit=True,
        auth=live_auth,
        justification="pay an invoice",
        on_pending=approve_in_background(live_admin, live_agent.approver_token),
    )
    def pay(amount: int) -> str:
        calls.append(amount)
        return f"paid {amount}"

    assert pay(99) == "paid 99"
    assert calls == [99]


def test_async_guard_with_the_async_client(live_server, live_admin, live_agent):
    auth = AgentAuth(
        live_server.base_url, live_server.org_id, live_agent.agent_id, live_agent.private_key_pem
    )

    @requires(
        "payments.authorize",
        jit=True,
        auth=auth,
        on_pending=approve_in_background(live_admin, live_agent.approver_token),
    )
    async def pay(amount: int, jit_token: str | None = None) -> str | None:
        return jit_token

    token = asyncio.run(pay(5))
    assert token and token.count(".") == 2


def test_demo_walks_the_whole_story(live_server):
    lines: list[str] = []
    run_demo(live_server.base_url, live_server.admin_token, live_server.org_id, out=lines.append)
    text = "\n".join(lines)
    assert "first use: valid=True" in text
    assert "second use refused: token_already_used" in text


def test_resource_server_dependency_runs_the_handler_once_per_approval(
    live_server, live_admin, live_agent, live_auth
):
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from jitgate.fastapi import require
    from jitgate.resource import VerifiedToken

    verifier = TokenVerifier(f"{live_server.base_url}/orgs/{live_server.org_id}")
    api = FastAPI()
    paid: list[dict] = []

    def operation_of(body: dict) -> dict:
        return {"invoice": body["invoice"], "amount": body["amount"]}

    gate = require("payments.authorize", verifier=verifier, jit=True, operation=operation_of)

    @api.post("/payments")
    def pay(body: dict, token: VerifiedToken = Depends(gate)):
        paid.append(body)
        return {"paid": True, "request_id": token.jit["request_id"]}

    approval = live_auth.request_jit_permission(
        "payments.authorize",
        "pay INV-7",
        operation=OPERATION,
        timeout=30,
        on_pending=approve_in_background(live_admin, live_agent.approver_token),
    )
    bearer = {"Authorization": f"Bearer {approval.token}"}
    with TestClient(api) as client:
        assert client.post("/payments", json=OPERATION, headers=bearer).status_code == 200
        again = client.post("/payments", json=OPERATION, headers=bearer)
        standing = {"Authorization": f"Bearer {live_auth.get_access_token()}"}
        not_jit = client.post("/payments", json=OPERATION, headers=standing)
    assert again.status_code == 409 and again.json()["detail"]["error"] == "token_already_used"
    assert not_jit.status_code == 403
    assert paid == [OPERATION]

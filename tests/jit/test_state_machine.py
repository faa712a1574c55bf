"""The JIT request state machine through the HTTP API (embedded mode, in-process worker)."""

import json
import threading
import time
from datetime import timedelta

import pytest

from app.core import events
from app.core.db import session_scope
from app.jit import state_machine as jit_service
from app.jit import token_expiry
from app.jit.state_machine import aware
from app.models import JitRequest
from tests import factories
from tests.helpers import assert_oauth_error, audit_events
from tests.jit.conftest import OPERATION, PERMISSION


def _row(request_id: str) -> JitRequest:
    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        assert row is not None
        return row


# --- eligibility and validation -------------------------------------------------------------


def test_permission_outside_the_agents_capabilities_is_not_eligible(jit, client, org, alice):
    jit.policy([alice])
    narrow = factories.register_agent(client, org, capabilities=["document.read"])
    assert_oauth_error(jit.request(narrow), 403, "not_eligible")


def test_permission_denied_by_policy_is_not_eligible(jit, client, org, agent):
    factories.set_policy(client, org, PERMISSION, "deny")
    assert_oauth_error(jit.request(agent), 403, "not_eligible", mentions="denied by policy")


@pytest.mark.parametrize("justification", ["", "   "])
def test_justification_is_required(jit, agent, alice, justification):
    jit.policy([alice])
    assert jit.request(agent, justification=justification).status_code == 422


@pytest.mark.parametrize(
    ("expires_in", "granted"), [("10m", 600), ("90s", 90), (600, 600), ("2m", 120)]
)
def test_expires_in_accepts_durations_and_seconds(jit, agent, alice, expires_in, granted):
    jit.policy([alice])
    view = jit.pending(agent, expires_in=expires_in)
    assert view["requested_ttl"] == view["granted_ttl"] == granted


def test_granted_ttl_is_capped_by_the_policys_max_token_ttl(jit, agent, alice):
    jit.policy([alice], max_token_ttl="5m")
    view = jit.pending(agent, expires_in="10m")
    assert (view["requested_ttl"], view["granted_ttl"]) == (600, 300)


@pytest.mark.parametrize("expires_in", ["forever", "2h", 0, -5])
def test_unusable_expires_in_is_refused(jit, agent, alice, expires_in):
    jit.policy([alice])
    assert jit.request(agent, expires_in=expires_in).status_code == 422


def test_operation_larger_than_8_kib_is_refused(jit, agent, alice):
    jit.policy([alice])
    resp = jit.request(agent, operation={"memo": "x" * (8 * 1024)})
    assert_oauth_error(resp, 422, "invalid_request", mentions="8192 bytes")


def test_same_idempotency_key_returns_the_same_request(jit, agent, alice):
    jit.policy([alice])
    first = jit.pending(agent, idempotency_key="pay-INV-7")
    again = jit.pending(agent, idempotency_key="pay-INV-7")
    assert again["request_id"] == first["request_id"]


def test_idempotency_key_reused_for_another_body_is_a_conflict(jit, agent, alice):
    jit.policy([alice])
    jit.pending(agent, idempotency_key="pay-INV-7")
    resp = jit.request(agent, idempotency_key="pay-INV-7", operation={"invoice": "INV-8"})
    assert_oauth_error(resp, 409, "idempotency_conflict")


# --- decisions --------------------------------------------------------------------------------


def test_auto_approve_policy_answers_200_with_the_token(jit, client, org, agent):
    factories.set_policy(client, org, PERMISSION, "jit", auto_approve=True)
    resp = jit.request(agent)
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["status"] == "approved" and view["token"]["scope"] == PERMISSION
    assert jit.consume(view["token"]["access_token"]).status_code == 200


def test_quorum_needs_two_distinct_approvers(jit, agent, alice, bob):
    jit.policy([alice, bob], approvals_required=2)
    request_id = jit.pending(agent)["request_id"]

    assert jit.decide(request_id, alice).json()["status"] == "pending"
    assert_oauth_error(jit.decide(request_id, alice), 409, "already_decided")
    view = jit.decide(request_id, bob).json()

    assert view["status"] == "approved"
    assert {d["approver_id"] for d in view["decisions"]} == {alice.approver_id, bob.approver_id}
    assert jit.token(agent, request_id)


def test_one_deny_denies_even_with_approvals_on_record(jit, agent, alice, bob):
    jit.policy([alice, bob], approvals_required=2)
    request_id = jit.pending(agent)["request_id"]
    jit.decide(request_id, alice)
    resp = jit.decide(request_id, bob, "deny")
    assert resp.status_code == 200 and resp.json()["status"] == "denied"
    view = jit.get(request_id, agent.bearer(jit.client))
    assert view["status"] == "denied" and "token" not in view


def test_agent_owner_may_not_approve_its_own_request(jit, client, org):
    owner = jit.approver("owner")
    jit.policy([owner])
    mine = factories.register_agent(client, org, capabilities=[PERMISSION], owner=owner.email)
    request_id = jit.pending(mine)["request_id"]
    assert_oauth_error(jit.decide(request_id, owner), 403, "self_approval_forbidden")
    assert jit.get(request_id, org.admin)["status"] == "pending"


def test_self_approval_is_allowed_when_the_policy_says_so(jit, client, org):
    owner = jit.approver("owner")
    jit.policy([owner], allow_self_approval=True)
    mine = factories.register_agent(client, org, capabilities=[PERMISSION], owner=owner.email)
    request_id = jit.pending(mine)["request_id"]
    assert jit.decide(request_id, owner).json()["status"] == "approved"


def test_approver_not_named_by_the_policy_may_not_decide(jit, agent, alice):
    jit.policy([alice])
    outsider = jit.approver("mallory")
    request_id = jit.pending(agent)["request_id"]
    # Not even its existence is told to an approver outside the policy (issue 18, finding 6).
    assert_oauth_error(jit.decide(request_id, outsider), 404, "not_found")
    assert_oauth_error(jit.decide(request_id, outsider, "deny"), 404, "not_found")


@pytest.mark.parametrize("first", ["approve", "deny"])
def test_decision_after_the_end_state_is_a_conflict(jit, agent, alice, bob, first):
    jit.policy([alice, bob])
    request_id = jit.pending(agent)["request_id"]
    assert jit.decide(request_id, alice, first).status_code == 200
    assert_oauth_error(jit.decide(request_id, bob, "approve"), 409, "invalid_transition")
    assert_oauth_error(jit.decide(request_id, bob, "deny"), 409, "invalid_transition")


def test_agent_cancels_its_pending_request(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    url = f"{org.api}/jit/requests/{request_id}/cancel"
    other = factories.register_agent(client, org, capabilities=[PERMISSION])

    assert client.post(url, headers=other.bearer(client)).status_code in (403, 404)
    resp = client.post(url, headers=agent.bearer(client))
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    assert_oauth_error(jit.decide(request_id, alice), 409, "invalid_transition")
    assert_oauth_error(client.post(url, headers=agent.bearer(client)), 409, "invalid_transition")


def test_pending_request_expires_at_its_deadline(jit, agent, alice):
    jit.policy([alice], pending_timeout="15m")
    request_id = jit.pending(agent)["request_id"]
    deadline = aware(_row(request_id).pending_deadline)
    with session_scope() as session:
        assert not jit_service.expire(
            session, request_id=request_id, now=deadline - timedelta(seconds=1)
        )
        assert jit_service.expire(
            session, request_id=request_id, now=deadline + timedelta(seconds=1)
        )
    assert jit.get(request_id, agent.bearer(jit.client))["status"] == "expired"
    assert_oauth_error(jit.decide(request_id, alice), 409, "invalid_transition")


# --- the token --------------------------------------------------------------------------------


def test_jit_token_is_used_exactly_once(jit, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)

    body = jit.consume(token).json()
    assert body == {
        "valid": True,
        "request_id": request_id,
        "agent_id": agent.agent_id,
        "permission": PERMISSION,
        "operation": OPERATION,
    }
    assert_oauth_error(jit.consume(token), 409, "token_already_used")
    assert jit.get(request_id, agent.bearer(jit.client))["status"] == "consumed"


def test_token_claims_bind_the_permission_operation_and_approvers(jit, agent, alice):
    import jwt

    jit.policy([alice], max_token_ttl="5m")
    request_id, token = jit.approved_token(agent, alice, expires_in="10m")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    assert claims["scope"] == PERMISSION and claims["sub"] == agent.agent_id
    assert claims["jit"]["request_id"] == request_id
    assert claims["jit"]["approved_by"] == [alice.approver_id]
    assert claims["jit"]["operation_hash"] == _row(request_id).operation_hash
    assert 290 <= claims["exp"] - claims["iat"] <= 300


@pytest.mark.parametrize(
    ("permission", "operation"),
    [
        ("payments.refund", OPERATION),
        (PERMISSION, {**OPERATION, "amount": 9999}),
        (PERMISSION, None),
    ],
)
def test_another_permission_or_operation_is_refused_and_the_token_stays_usable(
    jit, agent, alice, permission, operation
):
    jit.policy([alice])
    _, token = jit.approved_token(agent, alice)
    assert_oauth_error(jit.consume(token, permission, operation), 403, "operation_mismatch")
    assert jit.consume(token).status_code == 200


def test_revoked_token_is_refused(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    url = f"{org.api}/jit/requests/{request_id}/revoke"

    assert client.post(url, headers=agent.bearer(client)).status_code == 403
    resp = client.post(url, headers=alice.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "revoked"
    assert_oauth_error(jit.consume(token), 401, "token_revoked")
    assert_oauth_error(client.post(url, headers=org.admin), 409, "invalid_transition")


def test_expired_token_is_refused(jit, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    expires = aware(_row(request_id).token_expires_at)
    with session_scope() as session:
        # The sweep covers every org: other tests' older tokens may expire here too.
        assert request_id not in token_expiry.expire_tokens(
            session, now=expires - timedelta(seconds=1)
        )
        assert request_id in token_expiry.expire_tokens(session, now=expires + timedelta(seconds=1))
    assert_oauth_error(jit.consume(token), 401, "token_expired")
    view = jit.get(request_id, agent.bearer(jit.client))
    assert view["status"] == "token_expired" and "token" not in view


def test_authz_check_accepts_the_jit_token_once_for_its_permission(jit, client, org, agent, alice):
    jit.policy([alice])
    _, token = jit.approved_token(agent, alice)
    url, headers = f"{org.api}/authz/check", {"Authorization": f"Bearer {token}"}

    other = client.post(
        url, json={"permission": "payments.refund", "operation": OPERATION}, headers=headers
    )
    assert other.status_code == 200 and other.json()["allowed"] is False
    first = client.post(
        url, json={"permission": PERMISSION, "operation": OPERATION}, headers=headers
    )
    assert first.status_code == 200 and first.json()["allowed"] is True, first.text
    again = client.post(
        url, json={"permission": PERMISSION, "operation": OPERATION}, headers=headers
    )
    assert_oauth_error(again, 401, "token_revoked")  # a used JIT token authenticates nothing
    assert_oauth_error(jit.consume(token), 409, "token_already_used")


def test_an_agent_sees_only_its_own_token(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id, _ = jit.approved_token(agent, alice)
    assert "token" not in jit.get(request_id, alice.headers)
    assert "token" not in jit.get(request_id, org.admin)
    other = factories.register_agent(client, org, capabilities=[PERMISSION])
    url = f"{org.api}/jit/requests/{request_id}"
    assert client.get(url, headers=other.bearer(client)).status_code == 404


# --- waiting: long-poll and SSE ---------------------------------------------------------------


def _wait_for_subscriber(before: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while events.hub.subscriber_count() <= before:
        assert time.monotonic() < deadline, "the waiter never subscribed"
        time.sleep(0.01)


def test_long_poll_returns_promptly_after_the_decision(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    headers, result = agent.bearer(client), {}
    wait = 30

    def poll() -> None:
        started = time.monotonic()
        result["view"] = jit.get(request_id, headers, wait=wait)
        result["elapsed"] = time.monotonic() - started

    before = events.hub.subscriber_count()
    waiter = threading.Thread(target=poll)
    waiter.start()
    _wait_for_subscriber(before)
    assert jit.decide(request_id, alice).status_code == 200
    waiter.join(wait + 5)

    assert result["view"]["status"] == "approved" and "token" in result["view"]
    assert result["elapsed"] < wait / 3, result["elapsed"]


def test_long_poll_without_a_decision_returns_pending_after_wait(jit, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    started = time.monotonic()
    assert jit.get(request_id, agent.bearer(jit.client), wait=1)["status"] == "pending"
    assert 0.9 <= time.monotonic() - started < 5


def test_sse_stream_shows_pending_then_approved(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    url = f"{org.api}/jit/requests/{request_id}/events"
    seen: list[dict] = []

    def listen() -> None:
        with client.stream("GET", url, headers=agent.bearer(client)) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line.removeprefix("data: ")))
                    if "token" in seen[-1]:
                        return

    before = events.hub.subscriber_count()
    listener = threading.Thread(target=listen)
    listener.start()
    _wait_for_subscriber(before)
    jit.decide(request_id, alice)
    listener.join(20)

    assert [e["status"] for e in seen][:1] == ["pending"]
    assert seen[-1]["status"] == "approved" and seen[-1]["token"]["scope"] == PERMISSION


# --- audit --------------------------------------------------------------------------------------


def test_audit_chain_verifies_and_shows_every_step(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    assert jit.consume(token).status_code == 200
    assert jit.consume(token).status_code == 409

    steps = [e["action"] for e in reversed(audit_events(client, org)) if e["target"] == request_id]
    for action in ("jit.request", "jit.approve", "jit.token_mint", "jit.consume"):
        assert action in steps, steps
    assert steps.index("jit.request") < steps.index("jit.token_mint") < steps.index("jit.consume")
    report = client.get(f"{org.api}/audit/verify", headers=org.admin).json()
    assert report["ok"] is True and report["checked"] >= len(steps), report


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.com/cb", "http://u:p@example.com/"])
def test_a_malformed_callback_url_is_refused_not_a_server_error(jit, agent, alice, url):
    jit.policy([alice])
    assert_oauth_error(jit.request(agent, callback_url=url), 422, "invalid_request")


def test_an_approver_email_with_a_control_character_is_refused(client, org):
    resp = client.post(
        f"{org.api}/approvers", json={"email": "a\x00b@example.com"}, headers=org.admin
    )
    assert_oauth_error(resp, 422, "invalid_request")


def test_a_callback_url_on_an_internal_address_is_refused_outside_development(
    jit, agent, alice, monkeypatch
):
    from app.settings import get_settings

    jit.policy([alice])
    monkeypatch.setattr(get_settings(), "allow_private_urls", False)
    for url in ("http://10.0.0.5/cb", "http://169.254.169.254/latest", "http://localhost:8080/"):
        resp = jit.request(agent, callback_url=url)
        assert_oauth_error(resp, 422, "invalid_request", mentions="internal address")

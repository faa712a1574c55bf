"""Unit tests of the agent client against a scripted server (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import threading

import httpx
import jwt
import pytest
from sdk_fakes import AGENT, API, make_clients

from jitgate import (
    AgentAuth,
    AuthenticationFailed,
    JitDenied,
    JitTimeout,
    NotEligible,
    SigningKey,
    TokenAlreadyUsed,
    generate_key,
    sign_assertion,
)
from jitgate.errors import error_from_response


def test_assertion_names_the_agent_the_token_endpoint_and_a_unique_jti():
    pem, jwks = generate_key()
    key = SigningKey.from_pem(pem)
    first = sign_assertion(key, agent_id=AGENT, audience=f"{API}/oauth/token", now=1000)
    second = sign_assertion(key, agent_id=AGENT, audience=f"{API}/oauth/token", now=1000)

    header = jwt.get_unverified_header(first)
    claims = jwt.decode(
        first,
        jwt.PyJWK(jwks["keys"][0]).key,
        algorithms=["EdDSA"],
        audience=f"{API}/oauth/token",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert header["alg"] == "EdDSA" and header["kid"] == jwks["keys"][0]["kid"]
    assert claims["iss"] == claims["sub"] == AGENT
    assert claims["exp"] - claims["iat"] == 60
    assert claims["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


def test_generated_jwks_carries_no_private_material():
    _, jwks = generate_key()
    (jwk,) = jwks["keys"]
    assert jwk["kty"] == "OKP" and jwk["alg"] == "EdDSA" and "d" not in jwk


def test_token_is_cached_per_scope_until_shortly_before_expiry():
    server, auth, _ = make_clients()

    async def scenario() -> list[str]:
        return [
            await auth.get_access_token(),
            await auth.get_access_token(),
            await auth.get_access_token(["document.read"]),
            await auth.get_access_token("document.read"),
        ]

    tokens = asyncio.run(scenario())
    assert tokens == ["at-1", "at-1", "at-2", "at-2"]
    assert server.calls.count("POST oauth/token") == 2


def test_token_about_to_expire_is_refreshed():
    server, _, sync = make_clients(token_ttl=20)  # inside the refresh margin at once
    assert sync.get_access_token() == "at-1"
    assert sync.get_access_token() == "at-2"


def test_concurrent_async_callers_share_one_refresh():
    server, auth, _ = make_clients(token_delay=0.05)

    async def scenario() -> set[str]:
        return set(await asyncio.gather(*(auth.get_access_token() for _ in range(10))))

    assert asyncio.run(scenario()) == {"at-1"}
    assert server.calls.count("POST oauth/token") == 1


def test_concurrent_threads_share_one_refresh():
    server, _, sync = make_clients(token_delay=0.05)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(sync.get_access_token())) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {"at-1"} and server.calls.count("POST oauth/token") == 1


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "invalid_client", AuthenticationFailed),
        (403, "not_eligible", NotEligible),
        (409, "token_already_used", TokenAlreadyUsed),
    ],
)
def test_server_errors_map_to_typed_errors_with_their_code(status, code, expected):
    response = httpx.Response(status, json={"error": code, "error_description": "why"})
    error = error_from_response(response)
    assert type(error) is expected and error.code == code and error.status == status


def test_jit_request_waits_for_the_approval_and_returns_the_token():
    server, _, sync = make_clients(jit_statuses=["pending", "pending", "approved"])
    approval = sync.request_jit_permission(
        "payments.authorize", "pay invoice 42", operation={"amount": 42}
    )
    assert approval.granted and approval.token == "jit-token" and approval.request_id == "jit_1"
    assert approval.expires_at is not None


def test_jit_request_without_wait_returns_the_pending_request_to_resume_later():
    _, auth, _ = make_clients(jit_statuses=["pending", "approved"])

    async def scenario():
        pending = await auth.request_jit_permission("payments.authorize", "x", wait=False)
        resumed = await auth.wait_for_approval(pending.request_id, timeout=5)
        return pending, resumed

    pending, resumed = asyncio.run(scenario())
    assert pending.status == "pending" and not pending.granted
    assert resumed.granted


def test_jit_wait_reconnects_after_a_dropped_connection():
    server, _, sync = make_clients(jit_statuses=["pending", "approved"], fail_next_polls=2)
    assert sync.request_jit_permission("payments.authorize", "x", timeout=10).granted


def test_denied_request_is_returned_and_raises_jit_denied_on_demand():
    _, _, sync = make_clients(jit_statuses=["pending", "denied"])
    approval = sync.request_jit_permission("payments.authorize", "x")
    assert not approval.granted and approval.status == "denied" and approval.reason == "not today"
    with pytest.raises(JitDenied):
        approval.raise_for_status()


def test_jit_wait_gives_up_with_jit_timeout_carrying_the_request_id():
    _, _, sync = make_clients(jit_statuses=["pending"])
    with pytest.raises(JitTimeout) as caught:
        sync.request_jit_permission("payments.authorize", "x", timeout=0)
    assert caught.value.request_id == "jit_1"


def test_ineligible_permission_raises_not_eligible():
    _, _, sync = make_clients()
    with pytest.raises(NotEligible):
        sync.request_jit_permission("payments.refund", "x")


def test_from_env_reads_the_four_variables(monkeypatch):
    pem, _ = generate_key()
    monkeypatch.setenv("JITGATE_URL", "http://example.test/")
    monkeypatch.setenv("JITGATE_ORG_ID", "acme")
    monkeypatch.setenv("JITGATE_AGENT_ID", "agt_1")
    monkeypatch.setenv("JITGATE_AGENT_PRIVATE_KEY", pem)
    auth = AgentAuth.from_env()
    assert auth.agent_id == "agt_1"
    assert auth.endpoints.token_url == "http://example.test/orgs/acme/api/v1/oauth/token"

"""The SDK against a real server: tokens, verification, decisions (no JIT here)."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from jitgate import AgentAuth, AuthenticationFailed, SyncAgentAuth, generate_key
from jitgate.fastapi import require
from jitgate.resource import TokenVerifier, VerifiedToken


def test_agent_gets_a_token_that_a_resource_server_verifies_offline(live_server, live_auth):
    token = live_auth.get_access_token()
    verifier = TokenVerifier(f"{live_server.base_url}/orgs/{live_server.org_id}")

    verified = verifier.verify(token)

    assert verified.subject == live_auth.agent_id
    assert "document.read" in verified.scopes and "payments.authorize" not in verified.scopes
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


def test_cached_token_is_reused_and_a_new_scope_gets_its_own(live_auth):
    first = live_auth.get_access_token()
    assert live_auth.get_access_token() == first
    narrow = live_auth.get_access_token(["document.read"])
    assert narrow != first
    assert jwt.decode(narrow, options={"verify_signature": False})["scope"] == "document.read"


def test_resource_indicator_becomes_the_audience(live_server, live_auth):
    token = live_auth.get_access_token(resource="https://payments.example")
    verifier = TokenVerifier(
        f"{live_server.base_url}/orgs/{live_server.org_id}", audience="https://payments.example"
    )
    assert verifier.verify(token).claims["aud"] in (
        "https://payments.example",
        ["https://payments.example"],
    )


def test_verifier_refuses_a_token_from_another_key(live_server, live_auth):
    verifier = TokenVerifier(f"{live_server.base_url}/orgs/{live_server.org_id}")
    claims = jwt.decode(live_auth.get_access_token(), options={"verify_signature": False})
    pem, _ = generate_key()
    from jitgate.assertion import SigningKey

    forged_key = SigningKey.from_pem(pem)
    header = {
        "typ": "at+jwt",
        "kid": jwt.get_unverified_header(live_auth.get_access_token())["kid"],
    }
    forged = jwt.encode(claims, forged_key.key, algorithm="EdDSA", headers=header)
    with pytest.raises(AuthenticationFailed):
        verifier.verify(forged)


def test_unregistered_key_is_refused_with_authentication_failed(live_server, live_agent):
    other_pem, _ = generate_key()
    auth = SyncAgentAuth(live_server.base_url, live_server.org_id, live_agent.agent_id, other_pem)
    with pytest.raises(AuthenticationFailed) as caught:
        auth.get_access_token()
    assert caught.value.code == "invalid_client" and caught.value.status == 401


def test_check_allows_a_standing_permission_and_flags_a_jit_one(live_auth):
    assert live_auth.check("document.read")["allowed"] is True
    decision = live_auth.check("payments.authorize")
    assert decision["allowed"] is False and decision.get("jit_required") is True


def test_ask_answers_the_seed_question(live_auth):
    answer = live_auth.ask("Can I read and summarize documents for user alice@acme.com?")
    assert "allowed" in answer and "permissions" in answer


def test_async_client_shares_one_refresh_between_concurrent_callers(live_server, live_agent):
    async def scenario() -> set[str]:
        async with AgentAuth(
            live_server.base_url,
            live_server.org_id,
            live_agent.agent_id,
            live_agent.private_key_pem,
        ) as auth:
            tokens = await asyncio.gather(*(auth.get_access_token() for _ in range(5)))
            decision = await auth.check("document.read")
            assert decision["allowed"] is True
            return set(tokens)

    assert len(asyncio.run(scenario())) == 1


def test_fastapi_dependency_admits_a_token_with_the_permission(live_server, live_auth):
    verifier = TokenVerifier(f"{live_server.base_url}/orgs/{live_server.org_id}")
    api = FastAPI()

    @api.get("/docs/{doc_id}")
    def read_doc(
        doc_id: str, token: VerifiedToken = Depends(require("document.read", verifier=verifier))
    ):
        return {"doc": doc_id, "agent": token.subject}

    @api.post("/payments")
    def pay(token: VerifiedToken = Depends(require("payments.authorize", verifier=verifier))):
        return {"paid": True}

    with TestClient(api) as client:
        bearer = {"Authorization": f"Bearer {live_auth.get_access_token()}"}
        assert client.get("/docs/7", headers=bearer).json() == {
            "doc": "7",
            "agent": live_auth.agent_id,
        }
        assert client.get("/docs/7").status_code == 401
        refused = client.post("/payments", headers=bearer)
        assert refused.status_code == 403
        assert refused.json()["detail"]["error"] == "insufficient_scope"


def test_async_client_survives_being_used_from_successive_event_loops(live_server, live_agent):
    auth = AgentAuth(
        live_server.base_url, live_server.org_id, live_agent.agent_id, live_agent.private_key_pem
    )
    first = asyncio.run(auth.check("document.read"))
    second = asyncio.run(auth.check("document.read"))
    assert first["allowed"] and second["allowed"]

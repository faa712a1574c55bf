"""Bearer verification while Redis (the shared revocation list) is down: the database answers
instead, never a 500 (issue 14, item 2).

The store is a real RedisStore whose client talks to a loopback port where nothing listens,
so every call fails the way it does in an outage (connection refused).
"""

import pytest

from app.core.kv import RedisStore
from app.identity import access_tokens
from tests.helpers import assert_oauth_error
from tests.integration.stack import free_port


@pytest.fixture
def redis_down(monkeypatch):
    dead = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(access_tokens, "get_store", lambda: dead)
    return dead


def _check(client, org, headers):
    return client.post(
        f"{org.api}/authz/check", json={"permission": "document.read"}, headers=headers
    )


def test_a_live_token_still_works_while_redis_is_down(client, org, agent, redis_down):
    # Given a valid token (verified once before, so the signature check is cached too),
    headers = agent.bearer(client)
    # when Redis is unreachable, then checks, requests and reads still answer.
    resp = _check(client, org, headers)
    assert resp.status_code == 200 and resp.json()["allowed"] is True, resp.text
    listed = client.post(
        f"{org.api}/jit/requests",
        json={"permission": "document.read", "justification": "read the report"},
        headers=headers,
    )
    assert listed.status_code == 200, listed.text


def test_a_revoked_token_stays_refused_while_redis_is_down(client, org, agent, monkeypatch):
    # Given a token revoked while Redis was up (the database records the revocation too),
    headers = agent.bearer(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    resp = client.post(f"{org.api}/oauth/revoke", data={"token": token}, headers=org.admin)
    assert resp.status_code == 200
    # when Redis goes down, then the database still says it is revoked.
    dead = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(access_tokens, "get_store", lambda: dead)
    assert_oauth_error(_check(client, org, headers), 401, "token_revoked")


def test_revoking_while_redis_is_down_answers_503_with_retry_after(client, org, agent, redis_down):
    # The revocation could not reach the shared list that every web process reads: the client
    # is told to retry, and nothing is half-done (the token stays valid until then).
    headers = agent.bearer(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    resp = client.post(f"{org.api}/oauth/revoke", data={"token": token}, headers=org.admin)
    assert_oauth_error(resp, 503, "temporarily_unavailable")
    assert resp.headers.get("retry-after")
    assert _check(client, org, headers).status_code == 200


def test_a_jit_token_redeems_once_while_redis_is_down(jit, agent, alice, redis_down):
    # The request's status, in the database, is what makes a JIT token single-use.
    jit.policy([alice])
    _, token = jit.approved_token(agent, alice)
    assert jit.consume(token).status_code == 200
    assert_oauth_error(jit.consume(token), 409, "token_already_used")

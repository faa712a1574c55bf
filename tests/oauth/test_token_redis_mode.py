"""Token endpoint in Redis mode: the jti claim and the agent's request count share one round trip
(app.identity.replay.claim_counting), against a real Redis.

Given the app pointed at Redis, when an agent asks for tokens, then each first use of an assertion
is claimed in Redis and counted once; a replay is refused and counts nothing; the agent's limit
refuses with 429 past its budget; and without Redis no token is issued (503, never 500).

The client address's count rides on the same script (app.identity.deferred_address): every
request counts once, whatever ends it (a token, a malformed form, a refused assertion, a replay),
and past the limit the answer is 429, before any work once this process knows.
"""

import os
import time
from collections.abc import Iterator

import pytest

from app.settings import get_settings
from tests.factories import register_agent, request_token
from tests.helpers import (
    assert_oauth_error,
    assert_rule,
    fill_orgs_share,
    issued_tokens,
    unqueue_from_room,
)
from tests.shared_redis import uses_shared_redis

pytestmark = uses_shared_redis  # counts on the machine's Redis database (tests/shared_redis.py)

URL = f"redis://127.0.0.1:6379/{os.environ.get('JITGATE_TEST_REDIS_DB', '15')}"


def _use_redis(monkeypatch, url: str) -> None:
    from app.core import kv
    from app.identity import rate_limits

    monkeypatch.setattr(get_settings(), "redis_url", url)
    kv.get_store.cache_clear()
    rate_limits.get_counter.cache_clear()


@pytest.fixture
def redis_mode(monkeypatch) -> Iterator:
    import redis

    from app.core import kv
    from app.identity import rate_limits

    raw = redis.Redis.from_url(URL, socket_timeout=1)
    try:
        raw.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    _use_redis(monkeypatch, URL)
    from app.identity import deferred_address

    rate_limits.reset()
    _use_redis(monkeypatch, URL)  # reset() dropped the cached counter
    deferred_address.forget()
    yield raw
    monkeypatch.undo()
    kv.get_store.cache_clear()
    rate_limits.reset()
    deferred_address.forget()


def _count(raw, org, agent, limit: int | None = None) -> int:
    limit = limit or get_settings().agent_requests_per_minute
    value = raw.get(f"jitgate:rl:agent/{org.org_id}/{agent.agent_id}/{limit}/60")
    return int(value or 0)


def test_each_first_use_is_claimed_in_redis_and_counted_once(client, org, agent, redis_mode):
    first = agent.assertion()
    assert request_token(client, org, first).status_code == 200
    # the claim lives in Redis for the assertion's life, and the request was counted
    jti_keys = list(redis_mode.scan_iter(match=f"jitgate:kv:jti:{agent.agent_id}:*"))
    assert len(jti_keys) == 1 and 0 < redis_mode.ttl(jti_keys[0]) <= 60 + 120
    assert _count(redis_mode, org, agent) == 1
    # a second assertion: a second count
    assert request_token(client, org, agent.assertion()).status_code == 200
    assert _count(redis_mode, org, agent) == 2


def test_a_replay_is_refused_and_counts_nothing(client, org, agent, redis_mode):
    assertion = agent.assertion()
    assert request_token(client, org, assertion).status_code == 200
    resp = request_token(client, org, assertion)
    assert_rule(resp, "jti")
    assert "replay" in resp.json()["error_description"]
    assert _count(redis_mode, org, agent) == 1
    assert issued_tokens(agent.agent_id) == 1


def test_the_same_jti_in_a_fresh_assertion_is_refused_too(client, org, agent, redis_mode):
    assert request_token(client, org, agent.assertion(jti="once-only")).status_code == 200
    later = agent.assertion(jti="once-only", iat=int(time.time()) + 1)
    assert_rule(request_token(client, org, later), "jti")


def test_past_the_agents_budget_the_token_request_is_429(client, org, agent, redis_mode):
    resp = client.patch(
        f"{org.api}/agents/{agent.agent_id}",
        json={"budget": {"requests_per_minute": 2}},
        headers=org.admin,
    )
    assert resp.status_code == 200, resp.text
    statuses = [request_token(client, org, agent.assertion()).status_code for _ in range(2)]
    assert statuses == [200, 200]
    refused = request_token(client, org, agent.assertion())
    assert_oauth_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert _count(redis_mode, org, agent, limit=2) == 3
    assert issued_tokens(agent.agent_id) == 2


def test_without_redis_no_token_is_issued_and_the_answer_is_503(client, org, agent, monkeypatch):
    from app.core import kv
    from app.identity import rate_limits
    from tests.integration.stack import free_port

    # given Redis mode with nothing listening at the Redis address
    _use_redis(monkeypatch, f"redis://127.0.0.1:{free_port()}/0")
    try:
        resp = request_token(client, org, agent.assertion())
    finally:
        monkeypatch.undo()
        kv.get_store.cache_clear()
        rate_limits.get_counter.cache_clear()
    # then the claim cannot be made, so no token: 503 with an OAuth body, not a 500
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"] == "temporarily_unavailable"
    assert issued_tokens(agent.agent_id) == 0


def _address_count(raw, limit: int) -> int:
    return int(raw.get(f"jitgate:rl:address/testclient/{limit}/60") or 0)


def test_every_token_request_counts_its_address_once(client, org, agent, redis_mode, monkeypatch):
    monkeypatch.setattr(get_settings(), "address_requests_per_minute", 1000)
    used = agent.assertion()
    outcomes = [
        request_token(client, org, used).status_code,  # a token: counted by the claim script
        request_token(client, org, used).status_code,  # a replay: the script counts it too
        request_token(client, org, "not-a-jwt").status_code,  # refused before any claim
        client.post(f"{org.api}/oauth/token", data={}).status_code,  # a malformed form
    ]
    assert outcomes == [200, 401, 401, 400]
    assert _address_count(redis_mode, 1000) == 4


def test_past_the_address_limit_the_answer_is_429_and_nothing_is_claimed(
    client, org, agent, redis_mode, monkeypatch
):
    monkeypatch.setattr(get_settings(), "address_requests_per_minute", 2)
    assert request_token(client, org, agent.assertion()).status_code == 200
    assert request_token(client, org, "not-a-jwt").status_code == 401
    # the third request is over the limit: refused, and its jti is not claimed
    over = agent.assertion(jti="over-the-address-limit")
    assert_oauth_error(request_token(client, org, over), 429, "rate_limited")
    assert not redis_mode.exists(f"jitgate:kv:jti:{agent.agent_id}:over-the-address-limit")
    assert issued_tokens(agent.agent_id) == 1
    # this process now refuses the address before any work, a malformed request too
    refused = client.post(f"{org.api}/oauth/token", data={})
    assert_oauth_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_an_address_over_its_limit_is_refused_even_when_its_first_word_is_malformed(
    client, org, agent, redis_mode, monkeypatch
):
    monkeypatch.setattr(get_settings(), "address_requests_per_minute", 1)
    assert client.post(f"{org.api}/oauth/token", data={}).status_code == 400
    # over the limit with a request refused before the claim: 429 replaces its 400
    assert_oauth_error(client.post(f"{org.api}/oauth/token", data={}), 429, "rate_limited")
    assert _address_count(redis_mode, 1) == 2


def test_concurrent_requests_past_the_address_limit_do_no_assertion_work(
    client, org, agent, redis_mode, monkeypatch
):
    """The address limit bounds the work an unauthenticated caller can cause (database lookups,
    signature checks, key fetches, audit rows), not only the tokens it gets: a burst from one
    address is refused before any of that work, however many of its requests arrive at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from app.identity import assertions

    monkeypatch.setattr(get_settings(), "address_requests_per_minute", 2)
    # every request verified in a worker thread, so the burst really overlaps
    monkeypatch.setattr(assertions, "verifiable_without_io", lambda token: False)
    verified, lock = [], threading.Lock()
    original = assertions.verify_signature

    def slow_verify(jws, key):
        with lock:
            verified.append(key.kid)
        time.sleep(0.3)  # a costly key (RSA-4096) or a slow database
        return original(jws, key)

    monkeypatch.setattr(assertions, "verify_signature", slow_verify)
    burst = [agent.assertion() for _ in range(6)]
    with ThreadPoolExecutor(len(burst)) as pool:
        statuses = sorted(pool.map(lambda a: request_token(client, org, a).status_code, burst))
    assert statuses == [200, 200, 429, 429, 429, 429]
    # then only the two requests within the limit were verified at all
    assert len(verified) <= 2, f"{len(verified)} of 6 verified for an address limited to 2"


# Concurrent token requests on one event loop (app/identity/claim_batch.py): the app is called
# directly on a loop of the test's own, as several clients at once would reach it.


def _at_once(app, org, forms: list[dict[str, str]]) -> list:
    import asyncio

    import httpx

    async def run() -> list:
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await asyncio.gather(
                *(http.post(f"{org.api}/oauth/token", data=f) for f in forms)
            )

    return asyncio.run(run())


def _form(assertion: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }


@pytest.fixture
def round_trips(monkeypatch) -> list[int]:
    """The number of claims each round trip of the claim script carried."""
    from app.core.redis_script import LeanScript

    sizes: list[int] = []
    many = LeanScript.many

    def counted(self, calls):
        sizes.append(len(calls))
        return many(self, calls)

    monkeypatch.setattr(LeanScript, "many", counted)
    return sizes


def test_concurrent_token_requests_share_a_round_trip_and_each_is_claimed_and_counted(
    app, client, org, agent, redis_mode, round_trips
):
    assert request_token(client, org, agent.assertion()).status_code == 200  # the agent cached
    round_trips.clear()
    responses = _at_once(app, org, [_form(agent.assertion()) for _ in range(6)])
    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.json()["access_token"] for r in responses}) == 6
    assert max(round_trips) > 1 and sum(round_trips) == 6  # batched, every claim sent once
    jti_keys = list(redis_mode.scan_iter(match=f"jitgate:kv:jti:{agent.agent_id}:*"))
    assert len(jti_keys) == 7
    assert _count(redis_mode, org, agent) == 7
    assert issued_tokens(agent.agent_id) == 7


def test_a_replay_inside_one_batch_is_refused(app, client, org, agent, redis_mode, round_trips):
    assert request_token(client, org, agent.assertion()).status_code == 200
    round_trips.clear()
    assertion = agent.assertion()
    responses = _at_once(app, org, [_form(assertion)] * 3)
    assert max(round_trips) > 1
    assert sorted(r.status_code for r in responses) == [200, 401, 401]
    for refused in (r for r in responses if r.status_code == 401):
        assert "replay" in assert_rule(refused, "jti")["error_description"]
    assert issued_tokens(agent.agent_id) == 2
    assert _count(redis_mode, org, agent) == 2  # replays count no agent request


def test_a_failed_round_trip_fails_every_claim_in_it_and_issues_nothing(
    app, client, org, agent, redis_mode, monkeypatch
):
    import redis

    from app.core.redis_script import LeanScript

    assert request_token(client, org, agent.assertion()).status_code == 200

    def broken(self, calls):
        raise redis.ConnectionError("the connection dropped")

    monkeypatch.setattr(LeanScript, "_evalsha", broken)
    responses = _at_once(app, org, [_form(agent.assertion()) for _ in range(4)])
    assert [r.status_code for r in responses] == [503] * 4
    assert all(r.json()["error"] == "temporarily_unavailable" for r in responses)
    assert issued_tokens(agent.agent_id) == 1


def test_a_batch_the_server_has_no_script_for_runs_each_claim_once_and_refuses_the_replay(
    app, client, org, agent, redis_mode, round_trips
):
    import uuid

    from app.core.kv import redis_client
    from app.core.redis_script import LeanScript
    from app.identity import replay

    assert request_token(client, org, agent.assertion()).status_code == 200
    # A script text the server has not seen: every claim of the batch is answered NOSCRIPT first.
    replay._scripts[URL] = LeanScript(
        redis_client(URL), f"{replay._CLAIM_AND_COUNT}\n-- {uuid.uuid4()}"
    )
    try:
        assertion = agent.assertion()
        forms = [_form(assertion)] * 3 + [_form(agent.assertion()) for _ in range(2)]
        responses = _at_once(app, org, forms)
    finally:
        replay._scripts.pop(URL, None)
    assert max(round_trips) > 1
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 401, 401]
    assert issued_tokens(agent.agent_id) == 4
    assert _count(redis_mode, org, agent) == 4


def test_one_claims_error_reply_fails_that_claim_only(
    app, client, org, agent, redis_mode, round_trips
):
    other = register_agent(client, org, capabilities=["document.read"])
    assert request_token(client, org, agent.assertion()).status_code == 200
    assert request_token(client, org, other.assertion()).status_code == 200
    # The other agent's count key holds a hash: its claim's INCR is an error reply (WRONGTYPE).
    key = f"jitgate:rl:agent/{org.org_id}/{other.agent_id}/"
    key += f"{get_settings().agent_requests_per_minute}/60"
    redis_mode.delete(key)
    redis_mode.hset(key, "x", "1")
    try:
        forms = [_form(agent.assertion()), _form(other.assertion()), _form(agent.assertion())]
        responses = _at_once(app, org, forms)
    finally:
        redis_mode.delete(key)
    assert max(round_trips) == 3
    assert [r.status_code for r in responses] == [200, 503, 200]
    assert responses[1].json()["error"] == "temporarily_unavailable"
    assert issued_tokens(other.agent_id) == 1


def test_a_request_cancelled_while_its_claim_waits_gets_nothing_and_the_batch_goes_on(
    app, client, org, agent, redis_mode, round_trips
):
    import asyncio

    import httpx

    from app.identity import claim_batch

    assert request_token(client, org, agent.assertion()).status_code == 200
    round_trips.clear()

    async def run() -> list:
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            tasks = [
                asyncio.create_task(http.post(f"{org.api}/oauth/token", data=_form(a)))
                for a in [agent.assertion() for _ in range(3)]
            ]
            for _ in range(1000):  # until every claim waits in the loop's batch
                if sum(len(b) for b in claim_batch._pending.values()) == 3:
                    break
                await asyncio.sleep(0)
            tasks[0].cancel()  # its client left
            return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(run())
    assert isinstance(results[0], asyncio.CancelledError)
    assert [r.status_code for r in results[1:]] == [200, 200]
    assert round_trips == [3]  # the cancelled claim was still sent (and spent): no token for it
    assert issued_tokens(agent.agent_id) == 3


def test_a_token_request_refused_for_an_audit_backlog_counts_against_its_address(
    client, org, agent, redis_mode, monkeypatch
):
    from app.audit import service as audit

    monkeypatch.setattr(get_settings(), "address_requests_per_minute", 1000)
    # Given an audit writer that makes no room ...
    monkeypatch.setattr(audit.writer, "bound", 0)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.05)
    # ... when an address asks five times for a token and is told each time to retry
    codes = [request_token(client, org, agent.assertion()).status_code for _ in range(5)]
    # then each of those requests counted against the address, like any other refusal
    assert codes == [503] * 5
    assert _address_count(redis_mode, 1000) == 5


def test_an_org_past_its_share_of_the_audit_queue_waits_for_its_batched_claims_too(
    client, org, agent, redis_mode, monkeypatch
):

    # Given the org's audit events at its whole share of the queue (the writer behind) ...
    from app.identity import claim_batch

    # (a first token caches the agent's keys: its next jti is claimed with the loop's others)
    assert request_token(client, org, agent.assertion()).status_code == 200
    claimed_in_batches = []
    batch_claim = claim_batch.claim

    async def counted_claim(verified):
        claimed_in_batches.append(verified)
        return await batch_claim(verified)

    monkeypatch.setattr(claim_batch, "claim", counted_claim)
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=0.3)
    try:
        # ... when its agent asks for a token, it waits for its org's room and hears 503
        started = time.monotonic()
        resp = request_token(client, org, agent.assertion())
        waited = time.monotonic() - started
    finally:
        unqueue_from_room(room, org.org_id, 100)
    assert_oauth_error(resp, 503, "temporarily_unavailable")
    assert waited >= 0.3 and len(claimed_in_batches) == 1
    assert issued_tokens(agent.agent_id) == 1
    assert request_token(client, org, agent.assertion()).status_code == 200

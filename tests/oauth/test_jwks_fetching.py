"""Token endpoint: keys fetched from agents' jwks_uri must not let one key host stall the service.

Given agents whose jwks_uri is hostile (drips a byte a second, streams a huge body, fails), when
many token requests name them, then other organisations' agents and admins are served as usual,
each URL is fetched once at a time and abandoned at an overall deadline, failures are remembered
for a while, and assertions that fail cheap checks never cause a fetch at all. Refusals are 401
invalid_client naming the rule, or 503 temporarily_unavailable with Retry-After; never a 500.
"""

import gzip
import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.identity.remote_jwks import JwksCache, jwks_cache
from app.settings import get_settings
from tests.factories import DROP, AgentHandle, ed25519_jwk, make_org, register_agent, request_token
from tests.helpers import assert_oauth_error, assert_rule
from tests.local_http import LocalServer, local_server

WAIT = 60.0  # generous bound on any one request; a healthy one takes milliseconds


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


@contextmanager
def background(workers: int) -> Iterator[ThreadPoolExecutor]:
    """Threads for concurrent requests. Not joined on exit: with a stalled fetch (the old
    behaviour) they would block the test forever; the server fixture ends the drips later."""
    pool = ThreadPoolExecutor(workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def uri_agent(client, org, server: LocalServer, path: str, kid: str = "k1") -> AgentHandle:
    """An agent registered with a jwks_uri that serves its key (registration fetches it once)."""
    private = Ed25519PrivateKey.generate()
    uri = server.answer(path, json.dumps({"keys": [ed25519_jwk(private, kid)]}))
    body = {"name": f"u-{uuid.uuid4().hex[:10]}", "capabilities": ["document.read"]}
    resp = client.post(
        f"{org.api}/agents/register", json={**body, "jwks_uri": uri}, headers=org.admin
    )
    assert resp.status_code == 201, resp.text
    server.requests.clear()  # count only the fetches made at token time
    return AgentHandle(
        org=org, agent_id=resp.json()["agent_id"], name="u", private_key=private, kid=kid
    )


def dripping_agent(client, org, server: LocalServer, path: str, every: float = 1.0) -> AgentHandle:
    agent = uri_agent(client, org, server, path)
    server.drip(path, every=every)
    return agent


def assert_refused_without_500(resp: Any) -> None:
    """What a client may get while a key host misbehaves: 401 naming the jwks_uri or kid rule,
    or 503 temporarily_unavailable with a Retry-After it can honour."""
    if resp.status_code == 503:
        assert_oauth_error(resp, 503, "temporarily_unavailable")
        assert int(resp.headers["retry-after"]) >= 1
    else:
        assert_oauth_error(resp, 401, "invalid_client", mentions="(jwks_uri)")


def wait_until_abandoned(server: LocalServer, paths: list[str]) -> None:
    """A dripping handler notices the hang-up at its next write or two (one a second)."""
    deadline = time.monotonic() + WAIT
    while sorted(server.abandoned) != sorted(paths) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(server.abandoned) == sorted(paths)


def results(futures: list[Future]) -> list[Any]:
    return [f.result(timeout=WAIT) for f in futures]


def test_other_orgs_are_served_while_jwks_uris_drip(client, server, monkeypatch):
    monkeypatch.setattr(get_settings(), "jwks_fetch_timeout", 6.0)
    # given three agents of one org whose jwks_uri drips a byte a second
    noisy = make_org("Noisy")
    paths = [f"/drip-{i}.json" for i in range(3)]
    drips = [dripping_agent(client, noisy, server, p) for p in paths]
    # and another org with an inline-key agent and an agent whose jwks_uri answers at once
    quiet = make_org("Quiet")
    inline = register_agent(client, quiet, capabilities=["document.read"])
    fast = uri_agent(client, quiet, server, "/fast.json")
    with background(48) as pool:
        # when five token requests per dripping agent are in flight
        noisy_calls = [
            pool.submit(request_token, client, noisy, a.assertion())
            for _ in range(5)
            for a in drips
        ]
        for path in paths:
            server.wait_for_request(path)
        # and twenty more arrive for one of them, beyond what may wait on a fetch
        burst = [pool.submit(request_token, client, noisy, drips[0].assertion()) for _ in range(20)]
        # then the quiet org gets tokens and its admin API answers, while the drips go on
        calls: list[Callable[[], Any]] = [
            lambda: request_token(client, quiet, inline.assertion()),
            lambda: request_token(client, quiet, fast.assertion()),
            lambda: client.get(f"{quiet.api}/agents", headers=quiet.admin),
        ]
        quiet_answers = results([pool.submit(call) for call in calls])
        assert [r.status_code for r in quiet_answers] == [200, 200, 200], [
            r.text for r in quiet_answers
        ]
        assert server.abandoned == [], "the drips should still be in progress"
        # and every noisy request ends in a refusal, never a 500; the burst is told to retry
        for resp in results(noisy_calls + burst):
            assert_refused_without_500(resp)
        assert any(r.status_code == 503 for r in results(burst))
    # and each dripping URL was fetched exactly once, then abandoned
    assert [server.hits(p) for p in paths] == [1, 1, 1]
    wait_until_abandoned(server, paths)
    # and a failed URL is not fetched again for a while: the next request is refused at once
    assert_refused_without_500(request_token(client, noisy, drips[0].assertion()))
    assert server.hits(paths[0]) == 1


def test_a_jwks_fetch_is_abandoned_at_its_overall_deadline(client, org, server, monkeypatch):
    # given a fetch deadline of 1.5 s, and a key host sending a byte every 0.3 s (no single read
    # ever waits long, so only an overall deadline can end the fetch)
    monkeypatch.setattr(get_settings(), "jwks_fetch_timeout", 1.5)
    agent = dripping_agent(client, org, server, "/drip.json", every=0.3)
    # when the agent asks for a token
    started = time.monotonic()
    with background(1) as pool:
        resp = pool.submit(request_token, client, org, agent.assertion()).result(timeout=WAIT)
    # then the fetch was given up at the deadline, not before, and the refusal says why
    assert time.monotonic() - started >= 1.5
    assert_rule(resp, "jwks_uri")
    assert "deadline" in resp.json()["error_description"]
    # and jitgate hung up on the key host
    wait_until_abandoned(server, ["/drip.json"])


def test_many_concurrent_requests_for_one_uri_cause_one_fetch(client, org, server):
    # given an agent whose key host takes half a second to answer
    agent = uri_agent(client, org, server, "/slow.json")
    server.answers["/slow.json"].delay = 0.5
    # when eight of its token requests arrive together, before any key is cached
    with background(8) as pool:
        answers = results(
            [pool.submit(request_token, client, org, agent.assertion()) for _ in range(8)]
        )
    # then all of them are served by a single fetch
    assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers]
    assert server.hits("/slow.json") == 1


def test_an_oversized_jwks_document_is_refused_without_reading_it(client, org, server):
    # given a key host that answers with 10 MiB
    agent = uri_agent(client, org, server, "/big.json")
    server.answer("/big.json", b"{" + b" " * (10 * 1024 * 1024) + b"}")
    # when the agent asks for a token, then the document is refused by its size
    resp = request_token(client, org, agent.assertion())
    assert_rule(resp, "jwks_uri")
    assert "larger than the limit" in resp.json()["error_description"]


def test_a_compressed_jwks_document_is_refused(client, org, server):
    # given a key host that gzips its JWKS although jitgate asked for identity (a small gzip
    # body can inflate to gigabytes; the size limit counts the bytes on the wire)
    agent = uri_agent(client, org, server, "/gz.json")
    body = json.dumps({"keys": [ed25519_jwk(agent.private_key, agent.kid)]}).encode()
    server.answer("/gz.json", gzip.compress(body), **{"Content-Encoding": "gzip"})
    # when the agent asks for a token, then the encoded document is refused
    resp = request_token(client, org, agent.assertion())
    assert_rule(resp, "jwks_uri")
    assert "Content-Encoding" in resp.json()["error_description"]


def test_a_failing_jwks_uri_is_not_fetched_again_for_a_while(client, org, server, monkeypatch):
    # given an agent whose key host answers 500
    agent = uri_agent(client, org, server, "/fail.json")
    server.answer("/fail.json", "{}", status=500)
    first = request_token(client, org, agent.assertion())
    assert_rule(first, "jwks_uri")
    # when it asks again at once, then the failure is remembered: no second fetch
    again = request_token(client, org, agent.assertion())
    assert_rule(again, "jwks_uri")
    assert "HTTP 500" in again.json()["error_description"]
    assert server.hits("/fail.json") == 1
    # and once the failure period has passed, the URL is tried again
    later = time.monotonic() + get_settings().jwks_failure_seconds + 1
    monkeypatch.setattr(jwks_cache, "clock", lambda: later)
    assert_rule(request_token(client, org, agent.assertion()), "jwks_uri")
    assert server.hits("/fail.json") == 2


CHEAP_REFUSALS = {
    "wrong-aud": ({"aud": "https://elsewhere.example/token"}, "aud"),
    "expired": ({"iat": int(time.time()) - 900, "exp": int(time.time()) - 600}, "exp"),
    "missing-jti": ({"jti": DROP}, "jti"),
    "missing-exp": ({"exp": DROP}, "exp"),
}


@pytest.mark.parametrize("case", CHEAP_REFUSALS, ids=list(CHEAP_REFUSALS))
def test_an_assertion_with_bad_claims_causes_no_fetch(client, org, server, case):
    # given an agent with a jwks_uri whose keys were never fetched
    agent = uri_agent(client, org, server, "/keys.json")
    claims, rule = CHEAP_REFUSALS[case]
    # when an assertion breaking a claim rule names it (its signature is never looked at)
    resp = request_token(client, org, agent.assertion(**claims))
    # then it is refused by that rule and the key host was not asked
    assert_rule(resp, rule)
    assert server.hits("/keys.json") == 0


def test_a_suspended_or_unknown_agent_causes_no_fetch(client, org, server):
    agent = uri_agent(client, org, server, "/keys.json")
    resp = client.patch(
        f"{org.api}/agents/{agent.agent_id}", json={"status": "suspended"}, headers=org.admin
    )
    assert resp.status_code == 200, resp.text
    assert_rule(request_token(client, org, agent.assertion()), "client")
    stranger = f"agt_{uuid.uuid4().hex}"
    assert_rule(request_token(client, org, agent.assertion(iss=stranger, sub=stranger)), "client")
    assert server.hits("/keys.json") == 0


def test_a_known_kid_is_served_from_the_cache(client, org, server):
    agent = uri_agent(client, org, server, "/keys.json")
    for _ in range(5):
        assert request_token(client, org, agent.assertion()).status_code == 200
    assert server.hits("/keys.json") == 1


def test_a_flood_of_unknown_kids_fetches_at_most_once_per_refresh_interval(
    client, org, server, monkeypatch
):
    # given an agent whose keys were fetched once
    agent = uri_agent(client, org, server, "/keys.json")
    assert request_token(client, org, agent.assertion()).status_code == 200
    # when, after the refresh interval, thirty assertions with made-up kids arrive together
    later = time.monotonic() + JwksCache.MIN_REFRESH_SECONDS + 1
    monkeypatch.setattr(jwks_cache, "clock", lambda: later)

    def unknown_kid() -> Any:
        return request_token(client, org, agent.assertion(headers={"kid": uuid.uuid4().hex}))

    with background(30) as pool:
        answers = results([pool.submit(unknown_kid) for _ in range(30)])
        # then they caused one fetch between them, and each is refused (unknown kid, or busy)
        for resp in answers:
            if resp.status_code != 503:
                assert_rule(resp, "kid")
        assert server.hits("/keys.json") == 2
        # and thirty more within the interval cause none
        answers = results([pool.submit(unknown_kid) for _ in range(30)])
    assert all(r.status_code in (401, 503) for r in answers)
    assert server.hits("/keys.json") == 2

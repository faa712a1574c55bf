"""Rate limits and budgets in embedded mode (in-process counters): per agent on the token, check,
ask and JIT routes, JIT requests per hour, the pending-JIT cap, and per client address on the
unauthenticated routes. Every refusal is 429 rate_limited with Retry-After."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import get_settings
from tests import factories
from tests.helpers import assert_oauth_error
from tests.jit.conftest import PERMISSION, Jit
from tests.shared_redis import uses_shared_redis

OPERATION = {"invoice": "INV-9", "amount": 90, "currency": "EUR"}


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    """Counters outlive a test in the session-wide app: each test starts from zero."""
    from app.identity import rate_limits

    rate_limits.reset()
    yield
    rate_limits.reset()


def set_budget(client: Any, org: factories.OrgHandle, agent_id: str, **budget: Any) -> Any:
    return client.patch(f"{org.api}/agents/{agent_id}", json={"budget": budget}, headers=org.admin)


def assert_rate_limited(resp: Any, *, at_most: int) -> int:
    """429 rate_limited with a Retry-After of whole seconds within the limit's window."""
    assert_oauth_error(resp, 429, "rate_limited")
    retry_after = int(resp.headers["Retry-After"])
    assert 1 <= retry_after <= at_most
    return retry_after


def check(client: Any, org: factories.OrgHandle, bearer: dict[str, str]) -> Any:
    return client.post(
        f"{org.api}/authz/check", json={"permission": "document.read"}, headers=bearer
    )


def jit_request(client: Any, org: factories.OrgHandle, bearer: dict[str, str], n: int) -> Any:
    body = {
        "permission": PERMISSION,
        "justification": f"pay invoice INV-{n} for the customer",
        "operation": {**OPERATION, "invoice": f"INV-{n}"},
    }
    return client.post(f"{org.api}/jit/requests", json=body, headers=bearer)


@pytest.fixture
def jit_org(client, org, agent) -> Jit:
    jit = Jit(client, org)
    jit.policy([jit.approver("ana")])
    return jit


# --- requests per minute, per agent ------------------------------------------------------------


def test_burst_of_checks_past_the_agents_requests_per_minute_gets_429_with_retry_after(
    client, org, agent
):
    # given an agent allowed 3 requests a minute, one of them spent on its token
    assert set_budget(client, org, agent.agent_id, requests_per_minute=3).status_code == 200
    bearer = agent.bearer(client)
    # when it checks three times
    answers = [check(client, org, bearer) for _ in range(3)]
    # then two checks pass and the third is refused until the minute is over
    assert [r.status_code for r in answers[:2]] == [200, 200]
    assert_rate_limited(answers[2], at_most=60)


def test_token_ask_and_jit_routes_share_the_agents_requests_per_minute(client, org, agent):
    assert set_budget(client, org, agent.agent_id, requests_per_minute=2).status_code == 200
    bearer = agent.bearer(client)  # 1
    ask = client.post(
        f"{org.api}/agents/ask", json={"question": "May I read documents?"}, headers=bearer
    )  # 2
    assert ask.status_code == 200, ask.text

    assert_rate_limited(jit_request(client, org, bearer, 1), at_most=60)
    assert_rate_limited(factories.request_token(client, org, agent.assertion()), at_most=60)
    assert_rate_limited(
        client.post(f"{org.api}/agents/ask", json={"question": "May I?"}, headers=bearer),
        at_most=60,
    )


def test_one_agents_burst_leaves_another_agent_of_the_org_alone(client, org, agent):
    other = factories.register_agent(client, org, capabilities=["document.read"])
    assert set_budget(client, org, agent.agent_id, requests_per_minute=1).status_code == 200
    agent.bearer(client)
    assert_rate_limited(factories.request_token(client, org, agent.assertion()), at_most=60)

    assert check(client, org, other.bearer(client)).status_code == 200


def test_org_default_requests_per_minute_applies_without_an_override(
    client, org, agent, monkeypatch
):
    monkeypatch.setattr(get_settings(), "agent_requests_per_minute", 2)
    bearer = agent.bearer(client)
    assert check(client, org, bearer).status_code == 200
    assert_rate_limited(check(client, org, bearer), at_most=60)


def test_with_rate_limits_disabled_no_burst_is_refused(client, org, agent, monkeypatch):
    monkeypatch.setattr(get_settings(), "rate_limits_enabled", False)
    assert set_budget(client, org, agent.agent_id, requests_per_minute=1).status_code == 200
    bearer = agent.bearer(client)
    assert [check(client, org, bearer).status_code for _ in range(5)] == [200] * 5


# --- JIT requests per hour and the pending cap -------------------------------------------------


def test_jit_requests_past_the_hourly_budget_get_429_with_retry_after(client, org, agent, jit_org):
    assert set_budget(client, org, agent.agent_id, jit_requests_per_hour=2).status_code == 200
    bearer = agent.bearer(client)
    for n in range(2):
        created = jit_request(client, org, bearer, n)
        assert created.status_code == 202, created.text
        cancel = f"{org.api}/jit/requests/{created.json()['request_id']}/cancel"
        assert client.post(cancel, headers=bearer).status_code == 200  # not pending any more

    assert_rate_limited(jit_request(client, org, bearer, 3), at_most=3600)


def test_pending_jit_cap_refuses_a_new_request_until_one_is_decided(client, org, agent, jit_org):
    # given an agent allowed 2 pending requests, with 2 pending
    assert set_budget(client, org, agent.agent_id, max_pending_jit=2).status_code == 200
    bearer = agent.bearer(client)
    first, second = (jit_request(client, org, bearer, n) for n in range(2))
    assert (first.status_code, second.status_code) == (202, 202)
    # when it asks a third time, then it is refused until the earliest pending deadline at most
    refused = jit_request(client, org, bearer, 2)
    assert_rate_limited(refused, at_most=15 * 60)
    assert "pending" in refused.json()["error_description"]
    # when one of the two is cancelled, then the cap (counted from the database) has room again
    client.post(f"{org.api}/jit/requests/{first.json()['request_id']}/cancel", headers=bearer)
    assert jit_request(client, org, bearer, 2).status_code == 202


def test_pending_cap_holds_exactly_when_requests_arrive_at_once(client, org, agent, jit_org):
    # given an agent allowed 3 pending requests
    assert set_budget(client, org, agent.agent_id, max_pending_jit=3).status_code == 200
    bearer = agent.bearer(client)
    # when 8 requests arrive together
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: jit_request(client, org, bearer, n), range(8)))
    # then exactly 3 are open and the other 5 refused (no two saw the same free slot)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [202] * 3 + [429] * 5, [r.text for r in answers]


def test_idempotent_retry_of_a_pending_request_is_not_refused_by_the_cap(
    client, org, agent, jit_org
):
    assert set_budget(client, org, agent.agent_id, max_pending_jit=1).status_code == 200
    bearer = agent.bearer(client)
    body = {"permission": PERMISSION, "justification": "pay INV-1", "idempotency_key": "k-1"}
    first = client.post(f"{org.api}/jit/requests", json=body, headers=bearer)
    again = client.post(f"{org.api}/jit/requests", json=body, headers=bearer)
    assert first.status_code == 202 and again.status_code == 202
    assert again.json()["request_id"] == first.json()["request_id"]


# --- per client address on the unauthenticated routes ------------------------------------------


@pytest.fixture
def address_limit(monkeypatch) -> int:
    monkeypatch.setattr(get_settings(), "address_requests_per_minute", 3)
    return 3


def test_burst_of_token_requests_from_one_address_gets_429(client, org, address_limit):
    answers = [
        client.post(f"{org.api}/oauth/token", data={"grant_type": "client_credentials"})
        for _ in range(address_limit + 1)
    ]
    assert [r.status_code for r in answers[:address_limit]] == [401] * address_limit
    assert_rate_limited(answers[-1], at_most=60)


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "{api}/jit/tokens/consume", {"json": {"token": "x", "permission": "a.b"}}),
        ("get", "/approve-link/not-a-token", {}),
        ("post", "/approve-link/not-a-token", {"data": {"note": ""}}),
        ("post", "/integrations/slack/interactions", {"content": b"payload=%7B%7D"}),
    ],
)
def test_every_unauthenticated_route_counts_against_the_client_address(
    client, org, address_limit, method, path, kwargs
):
    url = path.format(api=org.api)
    for _ in range(address_limit):
        assert getattr(client, method)(url, **kwargs).status_code != 429
    assert_rate_limited(getattr(client, method)(url, **kwargs), at_most=60)


@pytest.mark.parametrize(
    "path", ["/admin/login/email", "/dashboard/login/email", "/dashboard/login/link/not-a-token"]
)
def test_the_portals_sign_in_link_routes_count_against_the_client_address(
    client, address_limit, path
):
    # given the portals' "email me a link" and link routes, which send mail for anyone who asks
    form = {"email": "someone@b.example", "login_csrf": "x"}
    for _ in range(address_limit):
        assert client.post(path, data=form).status_code != 429
    # then one address past its limit is refused (the portals answer with a page, not JSON),
    # and the page says when to come back, like the API's 429 does
    refused = client.post(path, data=form)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Cache-Control"] == "no-store"


def test_another_client_address_keeps_its_own_count(app, client, org, address_limit):
    url = f"{org.api}/oauth/token"
    for _ in range(address_limit):
        client.post(url, data={"grant_type": "client_credentials"})
    assert client.post(url, data={"grant_type": "client_credentials"}).status_code == 429

    # Not entered as a context manager: that would run the shared app's lifespan again, and
    # its shutdown would stop the embedded worker the rest of the session relies on.
    elsewhere = TestClient(app, client=("192.0.2.7", 40000))
    assert elsewhere.post(url, data={"grant_type": "client_credentials"}).status_code == 401


# --- budgets through the admin API -------------------------------------------------------------


def test_agent_shows_its_effective_budget_with_org_defaults(client, org, agent):
    settings = get_settings()
    shown = client.get(f"{org.api}/agents/{agent.agent_id}", headers=org.admin).json()
    assert shown["budget"] == {
        "requests_per_minute": settings.agent_requests_per_minute,
        "jit_requests_per_hour": settings.agent_jit_requests_per_hour,
        "max_pending_jit": settings.agent_max_pending_jit,
    }
    assert shown["budget_overrides"] == {}


def test_patch_budget_overrides_one_value_and_null_resets_it(client, org, agent):
    settings = get_settings()
    changed = set_budget(client, org, agent.agent_id, max_pending_jit=3, requests_per_minute=50)
    assert changed.status_code == 200, changed.text
    assert changed.json()["budget"]["max_pending_jit"] == 3
    assert changed.json()["budget_overrides"] == {"max_pending_jit": 3, "requests_per_minute": 50}

    reset = set_budget(client, org, agent.agent_id, max_pending_jit=None).json()
    assert reset["budget"]["max_pending_jit"] == settings.agent_max_pending_jit
    assert reset["budget_overrides"] == {"requests_per_minute": 50}

    cleared = client.patch(
        f"{org.api}/agents/{agent.agent_id}", json={"budget": None}, headers=org.admin
    ).json()
    assert cleared["budget_overrides"] == {}
    assert cleared["budget"]["requests_per_minute"] == settings.agent_requests_per_minute


@pytest.mark.parametrize(
    "budget",
    [
        {"requests_per_minute": -1},
        {"requests_per_minute": 0},
        {"jit_requests_per_hour": 10**12},
        {"max_pending_jit": "5"},
        {"max_pending_jit": 2.5},
        {"max_pending_jit": True},
        {"requests_per_second": 5},
        [5],
    ],
)
def test_patch_with_a_nonsensical_budget_is_422(client, org, agent, budget):
    resp = client.patch(
        f"{org.api}/agents/{agent.agent_id}", json={"budget": budget}, headers=org.admin
    )
    assert_oauth_error(resp, 422, "invalid_request")
    shown = client.get(f"{org.api}/agents/{agent.agent_id}", headers=org.admin).json()
    assert shown["budget_overrides"] == {}


def test_without_redis_a_limit_admits_rather_than_failing_the_request(caplog):
    from app.identity.rate_limits import RedisCounter
    from tests.integration.stack import free_port

    # given a Redis address where nothing listens
    counter = RedisCounter(f"redis://127.0.0.1:{free_port()}/0")
    # when a request is counted, then it is admitted and the gap is logged
    assert counter.hit("agent/org_x/agt_y", 1, 60) is None
    assert "not enforced" in caplog.text


def _redis_counter():
    import os

    import redis

    from app.identity.rate_limits import RedisCounter

    url = f"redis://127.0.0.1:6379/{os.environ.get('JITGATE_TEST_REDIS_DB', '15')}"
    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    counter = RedisCounter(url)
    counter.clear()
    return counter, redis.Redis.from_url(url)


@uses_shared_redis
def test_the_redis_counter_admits_the_limit_then_says_when_to_retry():
    counter, _ = _redis_counter()
    # given a limit of 3 a minute, when 4 hits arrive, then the 4th is told the window's rest
    assert [counter.hit("agent/o/a", 3, 60) for _ in range(3)] == [None, None, None]
    retry_after = counter.hit("agent/o/a", 3, 60)
    assert retry_after is not None and 55 <= retry_after <= 60
    # and another key, or another limit for the same key, counts on its own
    assert counter.hit("agent/o/b", 3, 60) is None
    assert counter.hit("agent/o/a", 5, 60) is None


@uses_shared_redis
def test_a_revoked_token_is_refused_by_the_redis_counter_without_being_counted():
    from app.identity.rate_limits import REVOKED

    counter, raw = _redis_counter()
    revoked = "jitgate:kv:revoked:jti-bench-1"
    raw.set(revoked, b"1", ex=60)
    try:
        # given a revoked token's key, when its request is counted, then it is REVOKED...
        assert counter.hit("agent/o/c", 1, 60, unless_revoked=revoked) == REVOKED
        # ...and used none of the budget: the agent's next request (a live token) is admitted
        assert counter.hit("agent/o/c", 1, 60, unless_revoked="jitgate:kv:revoked:x") is None
        assert counter.hit("agent/o/c", 1, 60, unless_revoked="jitgate:kv:revoked:x") is not None
    finally:
        raw.delete(revoked)


def test_without_redis_a_token_request_still_reads_the_revocations(monkeypatch):
    from app.identity import rate_limits
    from app.identity.rate_limits import RedisCounter
    from tests.integration.stack import free_port

    # given a Redis counter where nothing listens
    counter = RedisCounter(f"redis://127.0.0.1:{free_port()}/0")
    # then a count that must also answer for a revocation does not pretend it could
    with pytest.raises(Exception):  # noqa: B017 - redis.ConnectionError or OSError
        counter.hit("agent/o/d", 1, 60, unless_revoked="jitgate:kv:revoked:y")
    # and limit_token_request falls back to the revocation list (here: revoked -> refused)
    monkeypatch.setattr(rate_limits, "get_counter", lambda: counter)
    from app.core.errors import TokenRevoked
    from app.identity import access_tokens

    monkeypatch.setattr(access_tokens, "is_revoked", lambda jti: jti == "gone")
    with pytest.raises(TokenRevoked):
        rate_limits.limit_token_request("o", "a", None, jti="gone")
    rate_limits.limit_token_request("o", "a", None, jti="live")  # admitted, count not enforced

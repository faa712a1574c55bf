"""Rate limits shared through Redis: two web processes (uvicorn) count one burst once.

Runs `uvicorn app.main:create_app --factory` twice on this machine's Redis (database
JITGATE_TEST_REDIS_DB, default 15, flushed first) and one SQLite file; skipped only when that
Redis does not answer.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests import factories
from tests.integration.stack import Stack, Web, running_stack
from tests.integration.stack import redis_unreachable_reason as _unreachable
from tests.shared_redis import uses_shared_redis

REDIS_DB = int(os.environ.get("JITGATE_TEST_REDIS_DB", "15"))
ADDRESS_LIMIT = 8
PERMISSION = "payments.authorize"

pytestmark = [
    pytest.mark.skipif(bool(_unreachable(REDIS_DB)), reason=str(_unreachable(REDIS_DB))),
    uses_shared_redis,
]


@dataclass
class Pair:
    stack: Stack
    webs: tuple[Web, Web]
    org: factories.OrgHandle

    def client(self, n: int) -> httpx.Client:
        return httpx.Client(base_url=self.webs[n % 2].url, timeout=60)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with running_stack(redis_db=REDIS_DB) as stack:
        limit = {"JITGATE_ADDRESS_REQUESTS_PER_MINUTE": str(ADDRESS_LIMIT)}
        webs = (stack.web("web-a", **limit), stack.web("web-b", **limit))
        created = stack.cli("orgs", "create", "Acme", "--json")
        yield Pair(stack, webs, factories.OrgHandle(created["org_id"], created["admin_token"]))


@pytest.fixture
def fresh(pair: Pair) -> Pair:
    """Every count starts at zero (the database, and what it holds, stays)."""
    pair.stack.flush_redis()
    return pair


def agent_with_budget(pair: Pair, **budget: int) -> factories.AgentHandle:
    with pair.client(0) as client:
        agent = factories.register_agent(
            client, pair.org, capabilities=["document.read", PERMISSION]
        )
        resp = client.patch(
            f"{pair.org.api}/agents/{agent.agent_id}",
            json={"budget": budget},
            headers=pair.org.admin,
        )
        assert resp.status_code == 200, resp.text
    return agent


def assert_rate_limited(resp: Any, at_most: int) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.json()["error"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= at_most


def test_burst_of_checks_across_two_web_processes_is_counted_once(fresh):
    # given an agent allowed 6 requests a minute, one spent on its token at web A
    agent = agent_with_budget(fresh, requests_per_minute=6)
    with fresh.client(0) as client:
        bearer = agent.bearer(client)
    # when it checks 10 times, alternating between web A and web B
    answers = []
    for n in range(10):
        with fresh.client(n) as client:
            body = {"permission": "document.read"}
            answers.append(client.post(f"{fresh.org.api}/authz/check", json=body, headers=bearer))
    # then exactly 5 pass in all (not 5 on each process) and every later one is refused
    assert [r.status_code for r in answers] == [200] * 5 + [429] * 5
    for refused in answers[5:]:
        assert_rate_limited(refused, at_most=60)


def test_jit_requests_per_hour_are_counted_across_web_processes(fresh):
    agent = agent_with_budget(fresh, jit_requests_per_hour=2)
    with fresh.client(0) as client:
        approver = client.post(
            f"{fresh.org.api}/approvers", json={"email": "ana@example.com"}, headers=fresh.org.admin
        ).json()
        factories.set_policy(
            client, fresh.org, PERMISSION, "jit", approvers=[approver["approver_id"]]
        )
        bearer = agent.bearer(client)
    statuses = []
    for n in range(3):
        body = {"permission": PERMISSION, "justification": f"pay INV-{n}", "operation": {"n": n}}
        with fresh.client(n) as client:
            resp = client.post(f"{fresh.org.api}/jit/requests", json=body, headers=bearer)
        statuses.append(resp.status_code)
    assert statuses[:2] == [202, 202]
    assert_rate_limited(resp, at_most=3600)


def test_unauthenticated_burst_from_one_address_is_refused_on_both_processes(fresh):
    answers = []
    for n in range(ADDRESS_LIMIT + 2):
        with fresh.client(n) as client:
            form = {"grant_type": "client_credentials"}
            answers.append(client.post(f"{fresh.org.api}/oauth/token", data=form))
    assert [r.status_code for r in answers] == [401] * ADDRESS_LIMIT + [429, 429]
    for refused in answers[ADDRESS_LIMIT:]:
        assert_rate_limited(refused, at_most=60)

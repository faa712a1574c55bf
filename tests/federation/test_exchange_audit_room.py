"""Token exchange (Redis mode) and the audit queue's room: a request is counted against its
client address once, before it waits for its org's share, whether it is then issued, refused
with 503 or cancelled in the wait (app/identity/routes/oauth.py, _authenticate)."""

import asyncio

import httpx

from app.settings import get_settings
from tests.factories import register_agent
from tests.federation.conftest import EXCHANGE, JWT_TYPE, exchange, federate, trust
from tests.helpers import fill_orgs_share, post_until_it_waits_in_room, unqueue_from_room
from tests.oauth import test_token_redis_mode
from tests.oauth.test_token_redis_mode import _address_count
from tests.shared_redis import uses_shared_redis

redis_mode = test_token_redis_mode.redis_mode  # the Redis-mode fixture, for this module too
pytestmark = uses_shared_redis  # counts on the machine's Redis database (tests/shared_redis.py)


def _federated_bot(client, org, kubernetes, monkeypatch) -> None:
    """An agent the Kubernetes issuer's workload exchanges for, and an address limit of 1000."""
    bot = register_agent(client, org, capabilities=["document.read"])
    issuer = trust(client, org, kubernetes)
    federate(client, org, bot.agent_id, issuer["issuer_id"], kubernetes.base_claims["sub"])
    monkeypatch.setattr(get_settings(), "address_requests_per_minute", 1000)


def test_an_exchange_cancelled_in_the_orgs_wait_counted_its_address(
    app,
    client,
    org,
    kubernetes,
    redis_mode,
    monkeypatch,
):

    _federated_bot(client, org, kubernetes, monkeypatch)
    assert exchange(client, org, kubernetes.token()).status_code == 200
    before = _address_count(redis_mode, 1000)

    room = fill_orgs_share(monkeypatch, org.org_id, timeout=5)
    form = {
        "grant_type": EXCHANGE,
        "subject_token": kubernetes.token(),
        "subject_token_type": JWT_TYPE,
    }

    async def run():
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            task = await post_until_it_waits_in_room(
                http, f"{org.api}/oauth/token", form, room, org.org_id
            )
            waiting = bool(room._waiters.get(org.org_id))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return waiting

    try:
        waiting = asyncio.run(run())
    finally:
        unqueue_from_room(room, org.org_id, 100)
    after = _address_count(redis_mode, 1000)
    assert waiting and after == before + 1


def test_a_503_in_the_orgs_wait_counts_the_address_once(
    client,
    org,
    agent,
    kubernetes,
    redis_mode,
    monkeypatch,
):
    from tests.factories import request_token

    _federated_bot(client, org, kubernetes, monkeypatch)
    assert request_token(client, org, agent.assertion()).status_code == 200  # keys cached
    before = _address_count(redis_mode, 1000)
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=0.2)
    try:
        batched = request_token(client, org, agent.assertion()).status_code
        exchanged = exchange(client, org, kubernetes.token()).status_code
    finally:
        unqueue_from_room(room, org.org_id, 100)
    after = _address_count(redis_mode, 1000)
    assert (batched, exchanged, after) == (503, 503, before + 2)

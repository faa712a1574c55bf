"""Token issuance and the audit queue's room: held in no org's name while authenticating, then
in the org's own share until the token's event is submitted (app/identity/routes/oauth.py).

Written from a review's reproductions: with the first hold kept across the org's wait, token
requests alone could hold the hard cap and wait forever for room none of them gave back, and
one org's waiting tokens made every org wait; a claim waited in memory only."""

import asyncio
import time

import httpx
import jwt

from tests.factories import make_org, register_agent, request_token
from tests.helpers import (
    fill_orgs_share,
    issued_tokens,
    post_until_it_waits_in_room,
    unqueue_from_room,
)


def _form(assertion: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }


def _claim_records(agent_id: str, jti: str) -> int:
    """The assertion's claim as the database holds it (after the row writer's flush): its own
    row and the records of tokens that keep it."""
    from app.core import row_writer
    from app.core.db import session_scope
    from app.models import IssuedToken, UsedAssertion

    row_writer.rows.flush()
    with session_scope() as session:
        own = session.query(UsedAssertion).filter_by(agent_id=agent_id, jti=jti).count()
        kept = session.query(IssuedToken).filter_by(assertion_jti=jti).count()
    return own + kept


def _slow_authentication(monkeypatch, seconds: float = 0.05) -> None:
    """An uncached agent's authentication takes a while in its worker thread (a slow read)."""
    from app.identity import tokens

    authenticate = tokens.authenticate

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return authenticate(*args, **kwargs)

    monkeypatch.setattr(tokens, "authenticate", slow)


# --- the authenticating room is given back before the org's wait ------------------------------


def test_token_requests_alone_never_hold_the_room_they_wait_for(app, client, monkeypatch):
    """Nothing queued, a burst of 2 x bound first-time token requests (keys not cached: they
    authenticate in a worker thread). Had each kept its authenticating room (the hard cap's)
    while it waited for its org's, none would fit and nothing queued would free any."""
    from app.audit import service as audit

    orgs = [make_org(f"F1a-{i}") for i in range(4)]
    agents = [register_agent(client, o, capabilities=["document.read"]) for o in orgs]
    audit.writer.flush()
    monkeypatch.setattr(audit.writer, "bound", 2)  # hard cap: 4 events
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.2)  # HELD_PATIENCE x 0.2 = 1 s
    _slow_authentication(monkeypatch)

    async def run():
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await asyncio.gather(
                *(http.post(f"{a.org.api}/oauth/token", data=_form(a.assertion())) for a in agents)
            )

    codes = [r.status_code for r in asyncio.run(run())]
    # Four events fit the hard cap of four: every request should be answered at once.
    assert codes == [200] * 4, codes


def test_one_orgs_waiting_tokens_do_not_make_another_org_wait(app, client, org, agent, monkeypatch):
    """Org A at its share and 100 of A's token requests waiting for it: another org's token is
    answered at once (the waiting requests hold no room toward the hard cap)."""
    from app.audit import service as audit

    other_org = make_org("F1b other")
    other_agent = register_agent(client, other_org, capabilities=["document.read"])
    assert request_token(client, org, agent.assertion()).status_code == 200  # A's keys cached
    assert request_token(client, other_org, other_agent.assertion()).status_code == 200
    audit.writer.flush()
    # a bound of 100: a share of 100 (64 with two orgs), a hard cap of 200
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=1.0)

    async def run():
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=30
        ) as http:
            a_tasks = [
                asyncio.create_task(
                    http.post(f"{org.api}/oauth/token", data=_form(agent.assertion()))
                )
                for _ in range(100)
            ]
            for _ in range(2000):  # until A's requests all wait for A's share
                if len(room._waiters.get(org.org_id, ())) == 100:
                    break
                await asyncio.sleep(0.001)
            held = room._reserved.get(None, 0), len(room._waiters.get(org.org_id, ()))
            started = time.monotonic()
            other = await http.post(
                f"{other_org.api}/oauth/token", data=_form(other_agent.assertion())
            )
            other_waited = time.monotonic() - started
            a = await asyncio.gather(*a_tasks)
            return held, other, other_waited, [r.status_code for r in a]

    try:
        held, other, other_waited, a_codes = asyncio.run(run())
    finally:
        unqueue_from_room(room, org.org_id, 100)
    # (all 100 of A's requests waited for A's share, holding no room toward the hard cap)
    assert held == (0, 100)
    assert other.status_code == 200 and other_waited < 0.3, (other.status_code, other_waited)


# --- the assertion's claim around the org's wait ----------------------------------------------


def test_a_503_in_the_orgs_wait_keeps_the_assertions_claim_once(client, org, agent, monkeypatch):
    from tests.oauth.test_claim_durability import _restart

    assert request_token(client, org, agent.assertion()).status_code == 200
    assertion = agent.assertion()
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=0.2)
    try:
        resp = request_token(client, org, assertion)
    finally:
        unqueue_from_room(room, org.org_id, 100)
    assert resp.status_code == 503
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    rows = _claim_records(agent.agent_id, jti)
    _restart()
    again = request_token(client, org, assertion)
    assert rows == 1 and again.status_code == 401


def test_a_request_cancelled_in_the_orgs_wait_keeps_its_claim(app, client, org, agent, monkeypatch):

    assert request_token(client, org, agent.assertion()).status_code == 200
    assertion = agent.assertion()
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=5)

    async def run():
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            task = await post_until_it_waits_in_room(
                http, f"{org.api}/oauth/token", _form(assertion), room, org.org_id
            )
            waiting = bool(room._waiters.get(org.org_id))
            task.cancel()
            result = await asyncio.gather(task, return_exceptions=True)
            return waiting, result[0]

    try:
        waiting, result = asyncio.run(run())
    finally:
        unqueue_from_room(room, org.org_id, 100)
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    rows = _claim_records(agent.agent_id, jti)
    assert waiting and isinstance(result, asyncio.CancelledError)
    assert rows == 1 and not room._reserved and issued_tokens(agent.agent_id) == 1


def test_a_claim_is_durable_while_its_request_waits_for_the_orgs_room(
    app, client, org, agent, monkeypatch
):
    """Embedded mode: a token request about to wait for its org's share writes its assertion's
    claim first (replay.write_claims_now), so a crash in the wait cannot reopen the assertion
    for a replay after a restart."""

    assert request_token(client, org, agent.assertion()).status_code == 200
    assertion = agent.assertion()
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=1.0)

    def durable() -> int:
        return _claim_records(agent.agent_id, jti)

    async def run():
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            task = await post_until_it_waits_in_room(
                http, f"{org.api}/oauth/token", _form(assertion), room, org.org_id
            )
            await asyncio.sleep(0.3)  # it has waited a while
            during = await asyncio.to_thread(durable)
            resp = await task
            return during, resp.status_code

    try:
        during, status = asyncio.run(run())
    finally:
        unqueue_from_room(room, org.org_id, 100)
    assert during == 1


def test_a_request_cancelled_while_its_thread_authenticates_keeps_its_claim(
    app, client, org, monkeypatch
):
    import threading

    from app.identity import tokens
    from tests.oauth.test_claim_durability import _restart

    # Given an agent whose keys are not cached (it authenticates in a worker thread), slowly ...
    agent = register_agent(client, org, capabilities=["document.read"])
    started, done = threading.Event(), threading.Event()
    authenticate = tokens.authenticate

    def slow(*args, **kwargs):
        started.set()
        time.sleep(0.3)  # a slow read, a JWKS fetch
        try:
            return authenticate(*args, **kwargs)
        finally:
            done.set()

    monkeypatch.setattr(tokens, "authenticate", slow)
    assertion = agent.assertion()
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]

    async def run():
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            task = asyncio.create_task(http.post(f"{org.api}/oauth/token", data=_form(assertion)))
            while not started.is_set():
                await asyncio.sleep(0.001)
            task.cancel()  # ... when its request is cancelled while the thread verifies
            return (await asyncio.gather(task, return_exceptions=True))[0]

    result = asyncio.run(run())
    assert done.wait(5)
    # then the claim the thread made after the request ended is written all the same
    deadline = time.monotonic() + 3
    while not (records := _claim_records(agent.agent_id, jti)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert isinstance(result, asyncio.CancelledError)
    assert records == 1
    # and the assertion cannot be replayed after a restart
    _restart()
    assert request_token(client, org, assertion).status_code == 401

"""Token endpoint: the claims of a client assertion (RFC 7523 §3).

Given a registered agent, when it signs an assertion whose claims break a rule, then the
endpoint answers 401 invalid_client naming the rule (`exp`, `nbf`, `iat`, `jti`, `iss`,
`sub`, `aud`, `client`), and no token is issued.
"""

import json
import threading
import time

import pytest

from tests.factories import DROP, make_org, register_agent, request_token
from tests.helpers import assert_nothing_issued, assert_rule, issued_tokens


def test_missing_exp_is_refused(client, org, agent):
    resp = request_token(client, org, agent.assertion(exp=DROP))
    assert_rule(resp, "exp")
    assert_nothing_issued(client, org, agent.agent_id, rule="exp")


def test_expired_assertion_is_refused(client, org, agent):
    now = int(time.time())
    resp = request_token(client, org, agent.assertion(iat=now - 600, exp=now - 120))
    assert_rule(resp, "exp")
    assert "expired" in resp.json()["error_description"]
    assert_nothing_issued(client, org, agent.agent_id, rule="exp")


def test_exp_more_than_five_minutes_ahead_is_refused(client, org, agent):
    resp = request_token(client, org, agent.assertion(exp=int(time.time()) + 3600))
    assert_rule(resp, "exp")
    assert "5 minutes" in resp.json()["error_description"]
    assert_nothing_issued(client, org, agent.agent_id, rule="exp")


def test_exp_just_under_five_minutes_ahead_is_accepted(client, org, agent):
    resp = request_token(client, org, agent.assertion(exp=int(time.time()) + 290))
    assert resp.status_code == 200, resp.text


def test_nbf_in_the_future_is_refused(client, org, agent):
    resp = request_token(client, org, agent.assertion(nbf=int(time.time()) + 120))
    assert_rule(resp, "nbf")
    assert_nothing_issued(client, org, agent.agent_id, rule="nbf")


def test_iat_in_the_future_is_refused(client, org, agent):
    resp = request_token(client, org, agent.assertion(iat=int(time.time()) + 120))
    assert_rule(resp, "iat")
    assert_nothing_issued(client, org, agent.agent_id, rule="iat")


def test_small_clock_skew_is_tolerated(client, org, agent):
    now = int(time.time())
    resp = request_token(client, org, agent.assertion(iat=now + 10, nbf=now + 10))
    assert resp.status_code == 200, resp.text


NOT_NUMBERS = ["123", True, [1], {"t": 1}]


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_non_numeric_time_claims_are_refused(client, org, agent, claim, value):
    resp = request_token(client, org, agent.assertion(**{claim: value}))
    assert_rule(resp, claim)
    assert "NumericDate" in resp.json()["error_description"]
    assert_nothing_issued(client, org, agent.agent_id, rule=claim)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_null_nbf_or_iat_counts_as_absent(client, org, agent, claim):
    resp = request_token(client, org, agent.assertion(**{claim: None}))
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), 10**400],
    ids=["nan", "inf", "-inf", "1e400"],
)
def test_non_finite_or_huge_time_claims_are_refused(client, org, agent, claim, value):
    # given a validly signed assertion with NaN, infinity or an integer no float can hold
    resp = request_token(client, org, agent.assertion(**{claim: value}))
    # then the claim's rule refuses it (never a 500, never a token)
    assert_rule(resp, claim)
    assert_nothing_issued(client, org, agent.agent_id, rule=claim)


def test_missing_jti_is_refused(client, org, agent):
    resp = request_token(client, org, agent.assertion(jti=DROP))
    assert_rule(resp, "jti")
    assert_nothing_issued(client, org, agent.agent_id, rule="jti")


@pytest.mark.parametrize(
    "value", ["", 12345, "x" * 257, ["a"]], ids=["empty", "int", "long", "list"]
)
def test_malformed_jti_is_refused(client, org, agent, value):
    resp = request_token(client, org, agent.assertion(jti=value))
    assert_rule(resp, "jti")
    assert_nothing_issued(client, org, agent.agent_id, rule="jti")


def test_replayed_jti_is_refused(client, org, agent):
    # given an assertion that was already exchanged for a token
    assertion = agent.assertion()
    assert request_token(client, org, assertion).status_code == 200
    # when the same assertion is presented again
    resp = request_token(client, org, assertion)
    # then it is refused as a replay and only the first token exists
    assert_rule(resp, "jti")
    assert "replay" in resp.json()["error_description"]
    assert issued_tokens(agent.agent_id) == 1


def test_same_jti_in_a_fresh_assertion_is_refused(client, org, agent):
    assert request_token(client, org, agent.assertion(jti="once")).status_code == 200
    resp = request_token(client, org, agent.assertion(jti="once", exp=int(time.time()) + 120))
    assert_rule(resp, "jti")
    assert issued_tokens(agent.agent_id) == 1


def test_jti_replayed_through_the_other_grant_form_is_refused(client, org, agent):
    assertion = agent.assertion()
    assert request_token(client, org, assertion).status_code == 200
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    resp = client.post(f"{org.api}/oauth/token", data=form)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert "(jti)" in resp.json()["error_description"]
    assert issued_tokens(agent.agent_id) == 1


def test_concurrent_replay_yields_exactly_one_token(client, org, agent):
    # given one assertion posted by several threads at the same moment
    assertion = agent.assertion()
    start = threading.Barrier(4)
    statuses: list[int] = []

    def post() -> None:
        start.wait()
        statuses.append(request_token(client, org, assertion).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly one wins
    assert sorted(statuses) == [200, 401, 401, 401]
    assert issued_tokens(agent.agent_id) == 1


def test_a_used_assertion_is_still_refused_after_a_restart_in_embedded_mode(client, org, agent):
    from app.core import row_writer
    from app.core.kv import get_store
    from app.identity import replay

    # given an assertion exchanged for a token, its claim written out
    assertion = agent.assertion()
    assert request_token(client, org, assertion).status_code == 200
    row_writer.rows.flush()
    # when the process starts again: an empty in-memory store, then the start-up reload
    get_store.cache_clear()
    assert not get_store().exists(f"jti:{agent.agent_id}:{json_claims(assertion)['jti']}")
    assert replay.reload() >= 1
    # then the same assertion is still a replay
    resp = request_token(client, org, assertion)
    assert_rule(resp, "jti")
    assert issued_tokens(agent.agent_id) == 1


def test_expired_claims_are_not_reloaded_and_are_pruned(client, org, agent):
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from app.core.db import session_scope
    from app.core.kv import get_store
    from app.identity import replay
    from app.models import UsedAssertion

    with session_scope() as session:
        session.add(
            UsedAssertion(
                agent_id=agent.agent_id,
                jti="long-gone",
                expires_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    get_store.cache_clear()
    replay.reload()
    assert not get_store().exists(f"jti:{agent.agent_id}:long-gone")

    def stored() -> object:
        with session_scope() as session:
            stmt = select(UsedAssertion).where(UsedAssertion.jti == "long-gone")
            return session.exec(stmt).first()

    assert stored() is None  # the start-up reload deletes what expired
    with session_scope() as session:  # and so does the periodic sweep
        session.add(
            UsedAssertion(
                agent_id=agent.agent_id,
                jti="long-gone",
                expires_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    from workers.tasks import sweep

    assert sweep()["claims_pruned"] >= 1 and stored() is None


def test_a_jti_used_again_after_its_first_claim_expired_renews_the_stored_claim(client, caplog):
    from sqlmodel import select

    from app.core import row_writer
    from app.core.columns import aware
    from app.core.db import session_scope
    from app.core.kv import get_store
    from app.identity import replay
    from app.models import UsedAssertion

    now = time.time()
    assert replay.claim("agt_reuse", "again", expires_at=now + 5, now=now)
    row_writer.rows.flush()
    get_store.cache_clear()  # the first claim's time in memory is over; its row is not pruned yet
    assert replay.claim("agt_reuse", "again", expires_at=now + 200, now=now)
    row_writer.rows.flush()  # an INSERT would hit the primary key here and fail the batch
    assert "failed" not in caplog.text
    with session_scope() as session:
        stmt = select(UsedAssertion).where(UsedAssertion.agent_id == "agt_reuse")
        rows = session.exec(stmt).all()
    assert len(rows) == 1 and aware(rows[0].expires_at).timestamp() > now + 200


def test_with_redis_claims_are_not_written_to_the_database(monkeypatch):
    from app.core import row_writer
    from app.core.kv import MemoryStore
    from app.identity import replay
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "redis_url", "redis://127.0.0.1:6379/0")
    monkeypatch.setattr(replay, "get_store", lambda: MemoryStore())
    row_writer.rows.flush()
    assert replay.claim("agt_x", "j1", expires_at=time.time() + 60, now=time.time())
    assert row_writer.rows.pending() == 0


def json_claims(token: str) -> dict:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def test_iss_different_from_sub_is_refused(client, org, agent):
    other = register_agent(client, org, capabilities=["document.read"])
    resp = request_token(client, org, agent.assertion(sub=other.agent_id))
    assert_rule(resp, "sub")
    assert_nothing_issued(client, org, agent.agent_id, rule="sub")
    assert issued_tokens(other.agent_id) == 0


@pytest.mark.parametrize("missing", ["iss", "sub"])
def test_missing_iss_or_sub_is_refused(client, org, agent, missing):
    resp = request_token(client, org, agent.assertion(**{missing: DROP}))
    assert_rule(resp, "iss")
    assert_nothing_issued(client, org, agent.agent_id, rule="iss")


def test_iss_naming_an_unknown_agent_is_refused(client, org, agent):
    resp = request_token(client, org, agent.assertion(iss="agt_nobody", sub="agt_nobody"))
    assert_rule(resp, "client")
    assert_nothing_issued(client, org, agent.agent_id, rule="client")


@pytest.mark.parametrize("hostile", ["agt_\x00nul", "agt_" + "x" * 2500, "agt_\u2603"])
def test_hostile_iss_is_refused_cleanly(client, org, agent, hostile):
    resp = request_token(client, org, agent.assertion(iss=hostile, sub=hostile))
    assert_rule(resp, "client")
    assert_nothing_issued(client, org, agent.agent_id, rule="client")


def _lookalike_audiences(org, other) -> dict[str, object]:
    endpoint = org.token_endpoint
    return {
        "trailing-slash": endpoint + "/",
        "https-instead-of-http": endpoint.replace("http://", "https://"),
        "other-orgs-endpoint": other.token_endpoint,
        "other-orgs-issuer": other.issuer,
        "prefix": endpoint[:-1],
        "extension": endpoint + "x",
        "query": endpoint + "?a=1",
        "upper-case": endpoint.upper(),
        "api-base": f"{org.issuer}/api/v1",
        "empty-list": [],
        "number": 42,
        "null": None,
    }


@pytest.mark.parametrize(
    "case",
    [
        "trailing-slash",
        "https-instead-of-http",
        "other-orgs-endpoint",
        "other-orgs-issuer",
        "prefix",
        "extension",
        "query",
        "upper-case",
        "api-base",
        "empty-list",
        "number",
        "null",
    ],
)
def test_wrong_or_lookalike_aud_is_refused(client, org, other_org, agent, case):
    aud = _lookalike_audiences(org, other_org)[case]
    resp = request_token(client, org, agent.assertion(aud=aud))
    assert_rule(resp, "aud")
    assert_nothing_issued(client, org, agent.agent_id, rule="aud")


def test_missing_aud_is_refused(client, org, agent):
    resp = request_token(client, org, agent.assertion(aud=DROP))
    assert_rule(resp, "aud")
    assert_nothing_issued(client, org, agent.agent_id, rule="aud")


@pytest.mark.parametrize("which", ["endpoint", "issuer", "list-with-endpoint"])
def test_token_endpoint_or_issuer_is_an_accepted_aud(client, org, agent, which):
    aud = {
        "endpoint": org.token_endpoint,
        "issuer": org.issuer,
        "list-with-endpoint": ["https://elsewhere.example", org.token_endpoint],
    }[which]
    resp = request_token(client, org, agent.assertion(aud=aud))
    assert resp.status_code == 200, resp.text


def test_suspended_agent_gets_no_token(client, org, agent):
    # given an agent an admin has suspended
    resp = client.patch(
        f"{org.api}/agents/{agent.agent_id}", json={"status": "suspended"}, headers=org.admin
    )
    assert resp.status_code == 200 and resp.json()["status"] == "suspended"
    # when it asks for a token with a perfectly good assertion
    resp = request_token(client, org, agent.assertion())
    # then it is refused
    assert_rule(resp, "client")
    assert "suspended" in resp.json()["error_description"]
    assert_nothing_issued(client, org, agent.agent_id, rule="client")


def test_reactivated_agent_gets_a_token_again(client, org, agent):
    url = f"{org.api}/agents/{agent.agent_id}"
    client.patch(url, json={"status": "suspended"}, headers=org.admin)
    client.patch(url, json={"status": "active"}, headers=org.admin)
    assert request_token(client, org, agent.assertion()).status_code == 200


def test_deleted_agent_gets_no_token(client, org, agent):
    assert client.delete(f"{org.api}/agents/{agent.agent_id}", headers=org.admin).status_code == 204
    resp = request_token(client, org, agent.assertion())
    assert_rule(resp, "client")
    assert_nothing_issued(client, org, agent.agent_id)


def test_another_orgs_agent_is_an_unknown_client(client, org, agent):
    # given org B, and org A's agent asserting itself to B's endpoint (aud = B's endpoint)
    other = make_org("Org B")
    assertion = agent.assertion(aud=other.token_endpoint)
    # when it asks org B's token endpoint
    resp = request_token(client, other, assertion)
    # then B does not know this client (RFC 6749 §5.2: 401 invalid_client)
    assert_rule(resp, "client")
    assert_nothing_issued(client, other, agent.agent_id, rule="client")


def test_unknown_org_is_404(client, agent):
    resp = request_token(client, type(agent.org)("org_missing", "x"), agent.assertion())
    assert resp.status_code == 404
    assert resp.json()["error"] == "not_found"
    assert issued_tokens(agent.agent_id) == 0


def test_assertion_claims_are_not_reflected_into_the_token(client, org, agent):
    # given an assertion carrying claims that would widen a token if copied
    assertion = agent.assertion(scope="admin.all", org="org_other", agent="root", aud=org.issuer)
    resp = request_token(client, org, assertion)
    assert resp.status_code == 200, resp.text
    payload = resp.json()["access_token"].split(".")[1]
    claims = json.loads(_b64decode(payload))
    assert claims["org"] == org.org_id and claims["agent"] == agent.name
    assert "admin.all" not in claims["scope"]


def _b64decode(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.mark.parametrize(
    "jti", ["\ud800", "a\x00b", "line\nbreak"], ids=["surrogate", "nul", "newline"]
)
def test_a_jti_that_is_not_printable_text_is_refused(client, org, agent, jti):
    resp = request_token(client, org, agent.assertion(jti=jti))
    assert_rule(resp, "jti")
    assert_nothing_issued(client, org, agent.agent_id, rule="jti")

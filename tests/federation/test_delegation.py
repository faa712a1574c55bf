"""Delegation (RFC 8693 chain of agency) end to end: a user's ID token from a local identity
provider over loopback HTTP, agents acting for the user, and what every API makes of it."""

import time

import jwt
import pytest

from app.identity import access_tokens
from tests.factories import register_agent, set_policy
from tests.federation.conftest import ACCESS_TOKEN_TYPE
from tests.federation.users import ALICE, delegate, delegated_token, hop, idp, trust_users
from tests.helpers import assert_oauth_error, audit_events

__all__ = ["idp"]
CAPS = ["delegation.act", "email.read", "email.send", "calendar.read"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def planner(client, org):
    return register_agent(client, org, capabilities=CAPS, name="planner-bot")


@pytest.fixture
def mailer(client, org):
    return register_agent(client, org, capabilities=CAPS, name="mailer-bot")


@pytest.fixture
def users(client, org, idp):
    return trust_users(client, org, idp)


def check(client, org, token: str, permission: str):
    resp = client.post(
        f"{org.api}/authz/check", json={"permission": permission}, headers=bearer(token)
    )
    return resp


def introspect(client, org, token: str) -> dict:
    resp = client.post(f"{org.api}/oauth/introspect", data={"token": token}, headers=org.admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


# --- the exchange ----------------------------------------------------------------------------


def test_agent_gets_a_token_to_act_for_the_user(client, org, planner, idp, users):
    # given Acme's sign-in service trusted for users (named by email), and alice's ID token
    id_token = idp.token(exp=int(time.time()) + 3600)
    # when planner-bot exchanges it, authenticating with its own assertion
    resp = delegate(client, planner, id_token, scope="email.read calendar.read")
    # then the answer is RFC 8693 §2.2's and the token says who acts for whom
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE and body["token_type"] == "Bearer"
    assert body["scope"] == "calendar.read email.read"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == ALICE
    assert claims["act"] == {"sub": planner.agent_id, "agent": "planner-bot"}
    assert claims["client_id"] == planner.agent_id and claims["aud"] == org.issuer
    assert claims["exp"] - claims["iat"] == body["expires_in"] <= 15 * 60
    # and the issue is audited with the user
    issued = [
        e for e in audit_events(client, org, action="token.issue") if e["outcome"] == "success"
    ]
    assert issued[0]["details"]["on_behalf_of"] == ALICE
    assert issued[0]["details"]["act"]["sub"] == planner.agent_id


def test_lifetime_ends_with_the_subject_token(client, org, planner, idp, users):
    ends = int(time.time()) + 120
    claims = claims_of(delegated_token(client, planner, idp.token(exp=ends)))
    assert claims["exp"] <= ends


def test_subject_claim_sub_names_the_user_by_sub(client, org, planner, idp):
    trust_users(client, org, idp, subject_claim="sub")
    assert claims_of(delegated_token(client, planner, idp.token()))["sub"] == "00u1alice"


def test_actor_token_authenticates_the_agent(client, org, planner, idp, users):
    own = planner.token(client, scope="email.read")
    token = delegated_token(client, planner, idp.token(), actor_token=own)
    assert claims_of(token)["act"]["sub"] == planner.agent_id


def test_default_scope_is_the_standing_capabilities(client, org, planner, idp, users):
    set_policy(client, org, "email.send", "jit", auto_approve=True)
    scope = claims_of(delegated_token(client, planner, idp.token()))["scope"].split()
    assert "email.send" not in scope and {"email.read", "calendar.read"} <= set(scope)
    assert "delegation.act" not in scope  # the right to delegate stays the agent's own


def test_a_second_hop_nests_the_actors_and_narrows(client, org, planner, mailer, idp, users):
    first = delegated_token(client, planner, idp.token(), scope="email.read email.send")
    resp = hop(client, mailer, first, actor_token=mailer.token(client))
    assert resp.status_code == 200, resp.text
    claims = claims_of(resp.json()["access_token"])
    assert claims["sub"] == ALICE
    assert claims["act"] == {
        "sub": mailer.agent_id,
        "agent": "mailer-bot",
        "act": {"sub": planner.agent_id, "agent": "planner-bot"},
    }
    # the previous hop held two permissions: without a scope the next hop gets no more
    assert claims["scope"] == "email.read email.send"
    assert claims["exp"] <= claims_of(first)["exp"]


def test_a_hop_may_narrow_further(client, org, planner, mailer, idp, users):
    first = delegated_token(client, planner, idp.token(), scope="email.read email.send")
    second = hop(client, mailer, first, scope="email.send").json()
    assert second["scope"] == "email.send"


# --- using the delegated token -----------------------------------------------------------------


def test_check_with_a_delegated_token_names_the_user(client, org, planner, idp, users):
    token = delegated_token(client, planner, idp.token(), scope="email.read")
    body = check(client, org, token, "email.read").json()
    assert body["allowed"] is True and body["on_behalf_of"] == ALICE
    assert body["subject"] == planner.agent_id  # the acting agent's capabilities decided
    denied = check(client, org, token, "email.send").json()
    assert denied["allowed"] is False and "scope" in denied["reason"]
    [event] = audit_events(client, org, action="authz.check", limit=1)
    assert event["actor"] == planner.agent_id
    assert event["details"]["on_behalf_of"] == ALICE
    assert event["details"]["actor_chain"] == [{"sub": planner.agent_id, "agent": "planner-bot"}]


def test_own_token_answers_have_no_user(client, org, planner):
    body = check(client, org, planner.token(client), "email.read").json()
    assert body["allowed"] is True and "on_behalf_of" not in body


def test_delegated_token_asks_only_about_its_own_agent(client, org, planner, mailer, idp, users):
    token = delegated_token(client, planner, idp.token())
    resp = client.post(
        f"{org.api}/authz/check",
        json={"permission": "email.read", "subject": mailer.agent_id},
        headers=bearer(token),
    )
    assert_oauth_error(resp, 403, "forbidden")


def test_ask_with_a_delegated_token_answers_for_the_user(client, org, planner, idp, users):
    client.post(
        f"{org.api}/permissions",
        json={"permission": "email.read", "description": "read email"},
        headers=org.admin,
    )
    token = delegated_token(client, planner, idp.token())
    resp = client.post(
        f"{org.api}/agents/ask", json={"question": "may I read email?"}, headers=bearer(token)
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["on_behalf_of"] == ALICE
    [event] = audit_events(client, org, action="authz.ask", limit=1)
    assert event["details"]["on_behalf_of"] == ALICE and event["details"]["actor_chain"]


def test_authzen_evaluation_with_a_delegated_token_names_the_user(client, org, planner, idp, users):
    token = delegated_token(client, planner, idp.token())
    body = {
        "subject": {"type": "agent", "id": planner.agent_id},
        "action": {"name": "read"},
        "resource": {"type": "email"},
    }
    resp = client.post(f"/orgs/{org.org_id}/access/v1/evaluation", json=body, headers=bearer(token))
    assert resp.status_code == 200, resp.text
    assert resp.json()["decision"] is True
    assert resp.json()["context"]["on_behalf_of"] == ALICE


def test_introspection_shows_the_chain(client, org, planner, mailer, idp, users):
    first = delegated_token(client, planner, idp.token())
    second = hop(client, mailer, first).json()["access_token"]
    body = introspect(client, org, second)
    assert body["active"] is True and body["sub"] == ALICE
    assert body["act"]["sub"] == mailer.agent_id and body["act"]["act"]["sub"] == planner.agent_id


# --- policies: delegation required | forbidden | allowed ---------------------------------------


def test_policy_delegation_defaults_to_allowed_and_refuses_other_values(client, org):
    made = set_policy(client, org, "email.read", "standing")
    assert made["delegation"] == "allowed"
    resp = client.post(
        f"{org.api}/policies",
        json={"permission": "email.send", "mode": "standing", "delegation": "sometimes"},
        headers=org.admin,
    )
    assert resp.status_code in (400, 422) and "delegation" in resp.text


def test_required_permission_is_usable_only_on_a_users_behalf(client, org, planner, idp, users):
    policy = set_policy(client, org, "email.send", "standing", delegation="required")
    own = planner.token(client)
    assert "email.send" not in claims_of(own)["scope"].split()
    denied = check(client, org, own, "email.send").json()
    assert denied["allowed"] is False and "on a user's behalf" in denied["reason"]
    assert denied["policy_id"] == policy["policy_id"]
    resp = client.post(
        f"{org.api}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": planner.assertion(),
            "scope": "email.send",
        },
    )
    assert_oauth_error(resp, 400, "invalid_scope", mentions="on a user's behalf")
    delegated = delegated_token(client, planner, idp.token(), scope="email.send")
    assert check(client, org, delegated, "email.send").json()["allowed"] is True


def test_forbidden_permission_is_never_used_on_a_users_behalf(client, org, planner, idp, users):
    set_policy(client, org, "email.send", "standing", delegation="forbidden")
    resp = delegate(client, planner, idp.token(), scope="email.send")
    assert_oauth_error(resp, 400, "invalid_scope", mentions="never usable on a user's behalf")
    delegated = delegated_token(client, planner, idp.token())
    assert "email.send" not in claims_of(delegated)["scope"].split()
    assert check(client, org, delegated, "email.send").json()["allowed"] is False
    assert check(client, org, planner.token(client), "email.send").json()["allowed"] is True


def test_policy_changed_after_issue_still_decides(client, org, planner, idp, users):
    delegated = delegated_token(client, planner, idp.token(), scope="email.send")
    set_policy(client, org, "email.send", "standing", delegation="forbidden")
    from app.authz import policies

    policies._rules_cache.invalidate(org.org_id)
    assert check(client, org, delegated, "email.send").json()["allowed"] is False


# --- revocation and suspension stop every token derived -------------------------------------


@pytest.fixture
def chain_of_two(client, org, planner, mailer, idp, users):
    first = delegated_token(client, planner, idp.token())
    second = hop(client, mailer, first).json()["access_token"]
    assert check(client, org, second, "email.read").json()["allowed"] is True
    return first, second


def test_revoking_the_subjects_grant_stops_the_next_hop(client, org, planner, chain_of_two):
    first, second = chain_of_two
    # when planner-bot revokes the token it was given for alice
    resp = client.post(
        f"{org.api}/oauth/revoke", data={"token": first}, headers=planner.bearer(client)
    )
    assert resp.status_code == 200
    # then the token mailer-bot got from it is dead too, for the API and for introspection
    assert_oauth_error(check(client, org, second, "email.read"), 401, "token_revoked")
    assert introspect(client, org, second) == {"active": False}
    [event] = audit_events(client, org, action="token.revoke", limit=1)
    assert event["details"]["delegated_tokens_revoked"] == [claims_of(second)["jti"]]


def test_a_child_is_stopped_by_its_parent_even_without_its_own_record(client, org, chain_of_two):
    # given only the parent on the revocation list (a child whose row was not written yet
    # when its parent was revoked is not found by the cascade)
    first, second = chain_of_two
    access_tokens.mark_revoked(claims_of(first)["jti"], 900)
    # then the child's own claims name the parent, and that is enough
    resp = check(client, org, second, "email.read")
    assert_oauth_error(resp, 401, "token_revoked", mentions="delegated from has been revoked")


@pytest.mark.parametrize("which", ["planner", "mailer"])
def test_suspending_any_agent_in_the_chain_stops_the_token(
    client, org, planner, mailer, chain_of_two, which
):
    _first, second = chain_of_two
    agent = {"planner": planner, "mailer": mailer}[which]
    url = f"{org.api}/agents/{agent.agent_id}"
    assert client.patch(url, json={"status": "suspended"}, headers=org.admin).status_code == 200
    assert check(client, org, second, "email.read").status_code == 401
    assert introspect(client, org, second) == {"active": False}
    # and reactivating the agent does not bring the old chain back
    assert client.patch(url, json={"status": "active"}, headers=org.admin).status_code == 200
    assert check(client, org, second, "email.read").status_code == 401


# --- the same in Redis mode, and while Redis is down -------------------------------------------


@pytest.fixture
def redis_store(monkeypatch):
    """The shared revocation list on this machine's Redis (the helper's own database)."""
    import os

    from app.core.kv import RedisStore
    from tests.integration.stack import REDIS_HOST, REDIS_PORT, redis_unreachable_reason

    db = int(os.environ.get("JITGATE_TEST_REDIS_DB", "15"))
    if redis_unreachable_reason(db):
        pytest.skip(str(redis_unreachable_reason(db)))
    store = RedisStore(f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}")
    monkeypatch.setattr(access_tokens, "get_store", lambda: store)
    return store


def test_revoking_the_grant_stops_the_chain_in_redis_mode(
    client, org, planner, mailer, idp, users, redis_store
):
    first = delegated_token(client, planner, idp.token())
    second = hop(client, mailer, first).json()["access_token"]
    assert check(client, org, second, "email.read").json()["allowed"] is True
    client.post(f"{org.api}/oauth/revoke", data={"token": first}, headers=org.admin)
    assert redis_store.exists(access_tokens.revoked_key(claims_of(first)["jti"]))
    assert_oauth_error(check(client, org, second, "email.read"), 401, "token_revoked")


def test_a_revoked_parent_stops_the_child_while_redis_is_down(
    client, org, planner, mailer, idp, users, monkeypatch
):
    # given a chain, and the parent revoked in the database only (no cascade to the child)
    from sqlmodel import select

    from app.core import row_writer
    from app.core.columns import utcnow
    from app.core.db import session_scope
    from app.core.kv import RedisStore
    from app.models import IssuedToken
    from tests.integration.stack import free_port

    first = delegated_token(client, planner, idp.token())
    second = hop(client, mailer, first).json()["access_token"]
    assert check(client, org, second, "email.read").json()["allowed"] is True
    row_writer.rows.flush()
    with session_scope() as session:
        jti = claims_of(first)["jti"]
        row = session.exec(select(IssuedToken).where(IssuedToken.jti == jti)).one()
        row.revoked_at = utcnow()
        session.add(row)
    # when Redis is unreachable, then the database answers for the parent
    dead = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(access_tokens, "get_store", lambda: dead)
    resp = check(client, org, second, "email.read")
    assert_oauth_error(resp, 401, "token_revoked", mentions="delegated from")


# --- JIT requests made for a user ----------------------------------------------------------------


def test_jit_token_for_a_delegated_request_dies_with_the_delegation(
    client, org, planner, idp, users
):
    set_policy(client, org, "email.send", "jit", auto_approve=True)
    delegated = delegated_token(client, planner, idp.token())
    body = {"permission": "email.send", "justification": "alice's digest", "operation": {"n": 1}}
    made = client.post(f"{org.api}/jit/requests", json=body, headers=bearer(delegated))
    assert made.status_code == 200, made.text
    jit_token = made.json()["token"]["access_token"]
    assert claims_of(jit_token)["jit"]["on_behalf_of"] == ALICE
    # when the delegation is revoked, the JIT token it obtained cannot be redeemed either
    client.post(f"{org.api}/oauth/revoke", data={"token": delegated}, headers=org.admin)
    consume = {"token": jit_token, "permission": "email.send", "operation": {"n": 1}}
    resp = client.post(f"{org.api}/jit/tokens/consume", json=consume)
    assert_oauth_error(resp, 401, "token_revoked", mentions="delegated from")
    refused = [
        e for e in audit_events(client, org, action="jit.consume") if e["outcome"] == "refused"
    ]
    assert refused

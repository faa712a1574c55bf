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
from tests.shared_redis import uses_shared_redis

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


@uses_shared_redis
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


# --- a JIT request made for a user ends with the user's delegation (review 16) ------------------

JIT_BODY = {"permission": "email.send", "justification": "alice's digest", "operation": {"n": 1}}


def approver_for(client, org, permission: str = "email.send") -> dict:
    """An approver with their API token, named by a jit policy on the permission."""
    body = {"email": "ann@example.com", "name": "Ann"}
    approver = client.post(f"{org.api}/approvers", json=body, headers=org.admin).json()
    set_policy(client, org, permission, "jit", approvers=[approver["approver_id"]])
    approver["headers"] = bearer(approver["api_token"])
    return approver


def ask_for_alice(client, org, delegated: str, **extra) -> dict:
    made = client.post(
        f"{org.api}/jit/requests", json={**JIT_BODY, **extra}, headers=bearer(delegated)
    )
    assert made.status_code in (200, 202), made.text
    return made.json()


def request_row(request_id: str):
    from app.core.db import session_scope
    from app.models import JitRequest

    with session_scope() as session:
        row = session.get(JitRequest, request_id)
        session.expunge(row)
        return row


def test_jit_token_for_a_user_ends_no_later_than_the_users_token(client, org, planner, idp, users):
    # alice's ID token is good for one more minute; a policy grants JIT tokens for 10 minutes
    user_exp = int(time.time()) + 60
    set_policy(client, org, "email.send", "jit", auto_approve=True, max_token_ttl=600)
    delegated = delegated_token(client, planner, idp.token(exp=user_exp))
    assert claims_of(delegated)["exp"] <= user_exp
    made = ask_for_alice(client, org, delegated, expires_in=600)
    jit_claims = claims_of(made["token"]["access_token"])
    assert jit_claims["jit"]["on_behalf_of"] == ALICE
    # the JIT token acts for alice: it does not outlive her token (nor the delegated one)
    assert jit_claims["exp"] <= claims_of(delegated)["exp"] <= user_exp
    assert jit_claims["delegation"]["expires_at"] == claims_of(delegated)["exp"]
    assert made["token"]["expires_in"] <= 60


def test_a_pending_request_for_a_user_expires_with_the_delegation(client, org, planner, idp, users):
    from datetime import UTC, datetime, timedelta

    from app.core.db import session_scope
    from app.jit import state_machine as jit

    approver = approver_for(client, org)
    delegated = delegated_token(client, planner, idp.token(exp=int(time.time()) + 120))
    ends = datetime.fromtimestamp(claims_of(delegated)["exp"], UTC)
    made = ask_for_alice(client, org, delegated)
    # nobody may approve it past the delegation's end: that is its deadline (policy: 15 min)
    assert made["status"] == "pending"
    assert request_row(made["request_id"]).pending_deadline.replace(tzinfo=UTC) == ends
    later = ends + timedelta(seconds=1)
    with session_scope() as session:
        approver_row = session.get(jit.Approver, approver["approver_id"])
        with pytest.raises(jit.InvalidTransition, match="expired"):
            jit.decide(
                session,
                request_id=made["request_id"],
                approver=approver_row,
                decision=jit.APPROVE,
                now=later,
            )
    # and the sweep closes it, saying why
    with session_scope() as session:
        assert jit.expire(session, request_id=made["request_id"], now=later) is True
    row = client.get(f"{org.api}/jit/requests/{made['request_id']}", headers=org.admin).json()
    assert row["status"] == "expired"
    assert "delegation" in row["reason"] and "expired" in row["reason"]


def test_an_approval_minted_after_the_delegation_ended_gets_no_token(
    client, org, planner, idp, users
):
    # given an approved request whose token was never minted (the mint was lost) ...
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from app.core.db import session_scope
    from app.jit import minting, token_expiry
    from app.models import JitRequest

    approver_for(client, org)
    delegated = delegated_token(client, planner, idp.token())
    rid = ask_for_alice(client, org, delegated)["request_id"]
    now = datetime.now(UTC)
    with session_scope() as session:
        session.execute(
            update(JitRequest)
            .where(JitRequest.id == rid)
            .values(status="approved", decided_at=now, decision_reason="ok")
        )
    # ... when a worker mints it after alice's delegation has ended, no token is made
    after = datetime.fromtimestamp(claims_of(delegated)["exp"], UTC) + timedelta(seconds=1)
    with session_scope() as session:
        assert minting.mint_token(session, request_id=rid, now=after) is False
    row = request_row(rid)
    assert row.token_jti is None and row.token_encrypted is None
    # and the expiry sweep records the approval's end (no re-mint is asked for again)
    with session_scope() as session:
        assert rid in token_expiry.expire_tokens(session, now=after)
    assert request_row(rid).status == "token_expired"


def test_a_jit_token_carrying_an_ended_delegation_is_refused(client, org, planner, idp, users):
    """Defence in depth: the JIT token's own exp already ends with the delegation; the chain
    check refuses a token whose recorded delegation expiry is past all the same."""
    from app.core.errors import TokenExpired
    from app.identity import chain

    claims = {"delegation": {"parents": [], "epochs": {}, "expires_at": int(time.time()) - 1}}
    with pytest.raises(TokenExpired, match="delegation"):
        chain.ensure_live(org.org_id, claims)


def test_jit_consume_audit_names_the_user(client, org, planner, mailer, idp, users):
    set_policy(client, org, "email.send", "jit", auto_approve=True)
    first = delegated_token(client, planner, idp.token())
    second = hop(client, mailer, first).json()["access_token"]
    jit_token = ask_for_alice(client, org, second)["token"]["access_token"]
    consume = {"token": jit_token, "permission": "email.send", "operation": {"n": 1}}
    assert client.post(f"{org.api}/jit/tokens/consume", json=consume).status_code == 200
    [used] = audit_events(client, org, action="jit.consume")
    assert used["outcome"] == "consumed"
    assert used["details"]["on_behalf_of"] == ALICE
    agents = [a["agent"] for a in used["details"]["actor_chain"]]
    assert agents == ["mailer-bot", "planner-bot"]


# --- revoking the delegation or suspending an actor withdraws what was asked under it ------------


def test_pending_request_is_withdrawn_when_its_delegation_is_revoked(
    client, org, planner, idp, users
):
    approver = approver_for(client, org)
    delegated = delegated_token(client, planner, idp.token())
    made = ask_for_alice(client, org, delegated)
    assert made["status"] == "pending"
    # an unrelated request of the same agent, on its own behalf, is left alone
    own = ask_for_alice(client, org, planner.token(client), operation={"n": 2})
    client.post(f"{org.api}/oauth/revoke", data={"token": delegated}, headers=org.admin)
    row = client.get(f"{org.api}/jit/requests/{made['request_id']}", headers=org.admin).json()
    # approvers are no longer asked to approve "planner-bot for alice" for a dead delegation
    assert row["status"] == "cancelled"
    assert "delegation" in row["reason"] and "revoked" in row["reason"]
    assert (
        client.get(f"{org.api}/jit/requests/{own['request_id']}", headers=org.admin).json()[
            "status"
        ]
        == "pending"
    )
    # the cancellation is audited, and the channels are owed the outcome (the outbox)
    [cancelled] = audit_events(client, org, action="jit.cancelled")
    assert cancelled["target"] == made["request_id"]
    assert outbox_kinds(made["request_id"]) >= {"announce", "outcome"}
    # and a late approval loses cleanly
    late = client.post(
        f"{org.api}/jit/requests/{made['request_id']}/approve", json={}, headers=approver["headers"]
    )
    assert late.status_code == 409, late.text


def outbox_kinds(request_id: str) -> set[str]:
    from sqlmodel import select

    from app.core.db import session_scope
    from app.jit.outbox_models import OutboxRow

    with session_scope() as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.request_id == request_id)).all()
        return {r.kind for r in rows}


def test_revoking_the_first_hop_withdraws_requests_asked_further_down(
    client, org, planner, mailer, idp, users
):
    approver_for(client, org)
    first = delegated_token(client, planner, idp.token())
    second = hop(client, mailer, first).json()["access_token"]
    made = ask_for_alice(client, org, second)
    client.post(f"{org.api}/oauth/revoke", data={"token": first}, headers=planner.bearer(client))
    row = client.get(f"{org.api}/jit/requests/{made['request_id']}", headers=org.admin).json()
    assert row["status"] == "cancelled"


def test_an_approved_token_is_revoked_with_its_delegation(client, org, planner, idp, users):
    set_policy(client, org, "email.send", "jit", auto_approve=True)
    delegated = delegated_token(client, planner, idp.token())
    made = ask_for_alice(client, org, delegated)
    assert made["status"] == "approved"
    client.post(f"{org.api}/oauth/revoke", data={"token": delegated}, headers=org.admin)
    row = client.get(f"{org.api}/jit/requests/{made['request_id']}", headers=org.admin).json()
    assert row["status"] == "revoked"
    consume = {"token": made["token"]["access_token"], "permission": "email.send"}
    resp = client.post(f"{org.api}/jit/tokens/consume", json={**consume, "operation": {"n": 1}})
    assert resp.status_code == 401, resp.text


def test_suspending_an_earlier_actor_withdraws_the_next_agents_request(
    client, org, planner, mailer, idp, users
):
    approver_for(client, org)
    first = delegated_token(client, planner, idp.token())
    second = hop(client, mailer, first).json()["access_token"]
    made = ask_for_alice(client, org, second)  # mailer-bot asks, for alice, through planner-bot
    # an unrelated pending request of mailer-bot's own stays
    own = ask_for_alice(client, org, mailer.token(client), operation={"n": 2})
    url = f"{org.api}/agents/{planner.agent_id}"
    assert client.patch(url, json={"status": "suspended"}, headers=org.admin).status_code == 200
    row = client.get(f"{org.api}/jit/requests/{made['request_id']}", headers=org.admin).json()
    assert row["status"] == "cancelled"
    assert "suspended" in row["reason"]
    own_row = client.get(f"{org.api}/jit/requests/{own['request_id']}", headers=org.admin).json()
    assert own_row["status"] == "pending"

"""Delegation (RFC 8693 chain of agency), the refusals: each one the right 4xx with the rule
named, nothing issued, and an audit event."""

import jwt
import pytest

from tests.factories import DROP, make_org, public_pem, register_agent, request_token, set_policy
from tests.federation.conftest import ACCESS_TOKEN_TYPE, trust
from tests.federation.test_workload_exchange import hs256_forged_with
from tests.federation.users import ALICE, delegate, delegated_token, hop, idp, trust_users
from tests.helpers import assert_oauth_error, issued_tokens, token_refusals

__all__ = ["idp"]
CAPS = ["delegation.act", "email.read", "email.send", "calendar.read"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def planner(client, org):
    return register_agent(client, org, capabilities=CAPS, name="planner-bot")


@pytest.fixture
def users(client, org, idp):
    return trust_users(client, org, idp)


def assert_refused(client, org, resp, agent, rule, *, before=0, status=400, error=None):
    """The error (invalid_request naming the rule, unless told), no new token for the agent,
    and a refused token.issue audit event naming the rule."""
    error = error or "invalid_request"
    assert_oauth_error(resp, status, error, mentions=f"({rule})" if rule else None)
    assert issued_tokens(agent.agent_id) == before
    refusals = token_refusals(client, org)
    assert refusals, "a refused exchange is an audit event"
    if rule:
        assert any(f"({rule})" in e["reason"] for e in refusals), refusals


# --- the subject token -----------------------------------------------------------------------


def test_user_token_from_an_untrusted_issuer_is_refused(client, org, planner, idp, users):
    resp = delegate(client, planner, idp.token(iss="https://evil.example"))
    assert_refused(client, org, resp, planner, "issuer")


def test_token_from_a_workload_issuer_is_not_a_user_token(client, org, planner, idp):
    trust(client, org, idp, kind="workload")
    resp = delegate(client, planner, idp.token())
    assert_refused(client, org, resp, planner, "issuer")
    assert "workloads, not users" in resp.json()["error_description"]


def test_user_issuer_of_another_org_is_untrusted_here(client, org, planner, idp):
    trust_users(client, make_org("Other"), idp)
    assert_refused(client, org, delegate(client, planner, idp.token()), planner, "issuer")


@pytest.mark.parametrize(
    ("claims", "rule"),
    [
        ({"aud": "https://someone-else.example"}, "aud"),
        ({"exp": 1_000_000_000}, "exp"),  # expired
        ({"nbf": 4_000_000_000}, "nbf"),  # not yet valid
        ({"exp": DROP}, "exp"),
        ({"email": DROP}, "email"),  # the issuer names users by email: none, no user
        ({"email_verified": False}, "email_verified"),
        # only true (or the string "true", as some providers send it) vouches for the address
        ({"email_verified": "false"}, "email_verified"),
        ({"email_verified": DROP}, "email_verified"),
        ({"email_verified": 1}, "email_verified"),
        ({"email_verified": "yes"}, "email_verified"),
        ({"email_verified": None}, "email_verified"),
    ],
)
def test_user_token_breaking_a_claim_rule_is_refused(
    client, org, planner, idp, users, claims, rule
):
    assert_refused(client, org, delegate(client, planner, idp.token(**claims)), planner, rule)


@pytest.mark.parametrize("verified", [True, "true", "TRUE", "True"])
def test_a_verified_email_in_either_form_is_accepted(client, org, planner, idp, users, verified):
    resp = delegate(client, planner, idp.token(email_verified=verified))
    assert resp.status_code == 200, resp.text
    assert claims_of(resp.json()["access_token"])["sub"] == ALICE


def test_unsigned_user_token_is_refused(client, org, planner, idp, users):
    body = {"iss": idp.issuer, "sub": "00u1alice", "email": ALICE, "aud": idp.audience}
    token = jwt.encode(body, None, algorithm="none")
    assert_refused(client, org, delegate(client, planner, token), planner, "alg")


def test_hs256_user_token_signed_with_the_public_key_is_refused(client, org, planner, idp, users):
    header = {"alg": "HS256", "typ": "JWT", "kid": idp.kid}
    token = hs256_forged_with(public_pem(idp.private_key), header, claims_of(idp.token()))
    assert_refused(client, org, delegate(client, planner, token), planner, "alg")


def test_user_token_with_a_jku_header_is_refused(client, org, planner, idp, users):
    token = idp.token(headers={"jku": idp.jwks_uri})
    assert_refused(client, org, delegate(client, planner, token), planner, "header")


def test_agents_own_token_is_not_a_users_delegation(client, org, planner, users):
    own = planner.token(client)
    resp = hop(client, planner, own)
    assert_refused(client, org, resp, planner, "act", before=1)


def test_jit_token_is_never_a_subject_token(client, org, planner, idp, users):
    set_policy(client, org, "email.send", "jit", auto_approve=True)
    headers = planner.bearer(client)
    body = {"permission": "email.send", "justification": "weekly digest", "operation": {"n": 1}}
    made = client.post(f"{org.api}/jit/requests", json=body, headers=headers).json()
    jit_token = made["token"]["access_token"]
    before = issued_tokens(planner.agent_id)
    assert_refused(client, org, hop(client, planner, jit_token), planner, "jit", before=before)
    # nor an actor token
    resp = delegate(client, planner, idp.token(), actor_token=jit_token)
    assert_refused(client, org, resp, planner, "jit", before=before)


def test_access_token_subject_without_an_actor_is_invalid_request(client, org, planner):
    data = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": planner.token(client),
        "subject_token_type": ACCESS_TOKEN_TYPE,
    }
    resp = client.post(f"{org.api}/oauth/token", data=data)
    assert_oauth_error(resp, 400, "invalid_request", mentions="actor")


# --- the actor -------------------------------------------------------------------------------


def test_actor_without_delegation_act_is_refused(client, org, idp, users):
    plain = register_agent(client, org, capabilities=["email.read"])
    assert_refused(client, org, delegate(client, plain, idp.token()), plain, "delegation.act")


def test_delegation_act_denied_by_policy_is_refused(client, org, planner, idp, users):
    set_policy(client, org, "delegation.act", "deny")
    resp = delegate(client, planner, idp.token())
    assert_refused(client, org, resp, planner, "delegation.act")


def test_actor_assertion_signed_by_another_key_is_invalid_client(client, org, planner, idp, users):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    planner.private_key = Ed25519PrivateKey.generate()
    resp = delegate(client, planner, idp.token())
    assert_refused(client, org, resp, planner, "signature", status=401, error="invalid_client")


def test_delegated_token_presented_as_a_client_assertion_is_invalid_client(
    client, org, planner, idp, users
):
    delegated = delegated_token(client, planner, idp.token())
    before = issued_tokens(planner.agent_id)
    # as the client_credentials grant's assertion
    resp = request_token(client, org, delegated)
    assert_oauth_error(resp, 401, "invalid_client")
    # and as the actor's assertion of another exchange
    data = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": idp.token(),
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": delegated,
    }
    resp = client.post(f"{org.api}/oauth/token", data=data)
    assert_refused(
        client, org, resp, planner, None, before=before, status=401, error="invalid_client"
    )


def test_delegated_token_is_not_an_actor_token(client, org, planner, idp, users):
    delegated = delegated_token(client, planner, idp.token())
    before = issued_tokens(planner.agent_id)
    resp = delegate(client, planner, idp.token(), actor_token=delegated)
    assert_refused(client, org, resp, planner, "act", before=before)


def test_another_orgs_actor_token_is_refused(client, org, planner, idp, users):
    other = make_org("Other")
    theirs = register_agent(client, other, capabilities=CAPS)
    resp = delegate(client, planner, idp.token(), actor_token=theirs.token(client))
    assert_refused(client, org, resp, planner, "access_token")
    assert issued_tokens(theirs.agent_id) == 1  # only its own token


def test_both_actor_credentials_at_once_are_refused(client, org, planner, idp, users):
    own = planner.token(client)
    resp = delegate(
        client,
        planner,
        idp.token(),
        actor_token=own,
        client_assertion=planner.assertion(),
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    )
    assert_refused(client, org, resp, planner, "actor", before=1)


# --- the chain -------------------------------------------------------------------------------


@pytest.fixture
def crew(client, org):
    return [register_agent(client, org, capabilities=CAPS, name=f"bot-{i}") for i in range(4)]


def test_a_fourth_actor_is_refused(client, org, idp, users, crew):
    token = delegated_token(client, crew[0], idp.token())
    for agent in crew[1:3]:
        resp = hop(client, agent, token)
        assert resp.status_code == 200, resp.text
        token = resp.json()["access_token"]
    assert len(_actors(claims_of(token))) == 3
    assert_refused(client, org, hop(client, crew[3], token), crew[3], "actors")


def _actors(claims: dict) -> list[str]:
    found, act = [], claims.get("act")
    while act:
        found.append(act["sub"])
        act = act.get("act")
    return found


def test_a_scope_that_widens_at_a_hop_is_invalid_scope(client, org, idp, users, crew):
    first = delegated_token(client, crew[0], idp.token(), scope="email.read")
    resp = hop(client, crew[1], first, scope="email.read email.send")
    assert_refused(client, org, resp, crew[1], None, error="invalid_scope")
    assert "widens" in resp.json()["error_description"]


def test_a_hop_by_another_orgs_agent_is_refused(client, org, idp, users, crew):
    first = delegated_token(client, crew[0], idp.token())
    other = make_org("Other")
    theirs = register_agent(client, other, capabilities=CAPS)
    resp = hop(client, theirs, first)
    assert_refused(client, other, resp, theirs, "access_token")


def test_suspended_agent_in_the_chain_stops_further_hops(client, org, idp, users, crew):
    first = delegated_token(client, crew[0], idp.token())
    resp = client.patch(
        f"{org.api}/agents/{crew[0].agent_id}", json={"status": "suspended"}, headers=org.admin
    )
    assert resp.status_code == 200, resp.text
    resp = hop(client, crew[1], first)
    assert_refused(client, org, resp, crew[1], "access_token")
    assert "suspended" in resp.json()["error_description"]


@pytest.mark.parametrize("where", ["subject", "actor"])
def test_admin_and_approver_tokens_are_neither_subject_nor_actor(
    client, org, planner, idp, users, where
):
    approver = client.post(
        f"{org.api}/approvers", json={"email": "ann@example.com"}, headers=org.admin
    ).json()
    for credential in (org.admin_token, approver["api_token"]):
        if where == "subject":
            resp = delegate(client, planner, credential)
        else:
            resp = delegate(client, planner, idp.token(), actor_token=credential)
        assert_oauth_error(resp, 400, "invalid_request")
    assert issued_tokens(planner.agent_id) == 0
    assert len(token_refusals(client, org)) >= 2


# --- review 16: odd exchanges and spoofed claims ------------------------------------------------

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def test_malformed_exchanges_never_500_and_never_issue(client, org, planner, idp, users):
    own = planner.token(client)
    delegated = delegated_token(client, planner, idp.token())
    odd_users = [
        idp.token(email=["a"]), idp.token(email=None), idp.token(exp="soon"),
        idp.token(aud={"x": 1}), idp.token(email="a" * 400), idp.token(email="x\u202ey"),
        idp.token(iat=10**20), idp.token(nbf="x"), "a.b.c", "." * 5, "x" * 70000,
    ]  # fmt: skip
    actor = {"actor_token": own, "actor_token_type": ACCESS_TOKEN_TYPE}
    forms = [{"subject_token": st, "subject_token_type": JWT_TYPE, **actor} for st in odd_users]
    for at in ["a.b.c", "jgadm_xyz", "", own + "x", delegated, "e30.e30.e30", "x" * 70000]:
        forms.append({"subject_token": idp.token(), "subject_token_type": JWT_TYPE,
                      "actor_token": at, "actor_token_type": ACCESS_TOKEN_TYPE})  # fmt: skip
    for st in ["a.b.c", "e30.e30.", own, "jgadm_x", "x" * 70000]:
        forms.append({"subject_token": st, "subject_token_type": ACCESS_TOKEN_TYPE, **actor})
    hop_form = {"subject_token": delegated, "subject_token_type": ACCESS_TOKEN_TYPE, **actor}
    forms.append({**hop_form, "scope": "\x00 email.read"})
    forms.append({**hop_form, "resource": "http://[::1"})
    forms.append({**hop_form, "client_assertion_type": "x"})
    bad = []
    for f in forms:
        resp = client.post(f"{org.api}/oauth/token", data={"grant_type": EXCHANGE, **f})
        if resp.status_code >= 500 or resp.status_code == 200:
            bad.append((resp.status_code, {k: v[:40] for k, v in f.items()}, resp.text[:200]))
    assert not bad, bad


def test_act_and_delegation_claims_in_the_users_token_are_ignored(client, org, planner, idp, users):
    spoof = idp.token(
        act={"sub": "agt_x", "act": {"sub": "agt_y"}},
        delegation={"parents": 1},
        may_act={"sub": "nobody"},
        scope="everything",
    )
    claims = claims_of(delegated_token(client, planner, spoof))
    assert claims["act"] == {"sub": planner.agent_id, "agent": "planner-bot"}
    assert claims["delegation"]["parents"] == []
    assert "everything" not in claims["scope"].split()

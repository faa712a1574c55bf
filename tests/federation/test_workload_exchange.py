"""Workload federation (RFC 8693 token exchange, no stored secret): platform tokens from local
issuers served over loopback HTTP become the federated agent's ordinary access token."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from tests.factories import DROP, make_org, public_pem, register_agent
from tests.federation.conftest import ACCESS_TOKEN_TYPE, exchange, federate, trust
from tests.helpers import assert_nothing_issued, assert_oauth_error, audit_events, issued_tokens


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def bot(client, org):
    return register_agent(client, org, capabilities=["document.read", "invoices.send"])


@pytest.fixture
def k8s_rule(client, org, bot, kubernetes):
    issuer = trust(client, org, kubernetes)
    return federate(client, org, bot.agent_id, issuer["issuer_id"], kubernetes.base_claims["sub"])


def assert_refused(client, org, resp, agent_id: str, rule: str) -> None:
    """400 invalid_request naming the rule (RFC 8693 §2.2.2), nothing issued, an audit event."""
    assert_oauth_error(resp, 400, "invalid_request", mentions=f"({rule})")
    assert_nothing_issued(client, org, agent_id, rule)


# --- the two platforms ----------------------------------------------------------------------


def test_kubernetes_service_account_token_is_exchanged_for_the_agents_token(
    client, org, bot, kubernetes, k8s_rule
):
    # given a cluster trusted as a workload issuer and a rule for its service account
    # when the pod trades its projected service-account token
    resp = exchange(client, org, kubernetes.token(), scope="document.read")
    # then it holds the agent's ordinary access token, marked as federated
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE and body["token_type"] == "Bearer"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == claims["client_id"] == bot.agent_id
    assert claims["scope"] == "document.read" and claims["aud"] == org.issuer
    assert claims["federated"] == {
        "iss": kubernetes.issuer,
        "sub": "system:serviceaccount:payments:invoice-bot",
    }
    # and the token works at jitgate's API and is audited with its origin
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    check = client.post(
        f"{org.api}/authz/check", json={"permission": "document.read"}, headers=headers
    )
    assert check.json()["allowed"] is True
    issued = [
        e for e in audit_events(client, org, action="token.issue") if e["outcome"] == "success"
    ]
    assert issued[-1]["details"]["federated"]["iss"] == kubernetes.issuer


def test_github_actions_token_is_exchanged_when_its_claims_match_exactly(client, org, bot, github):
    issuer = trust(client, org, github)
    sub = "repo:acme/invoices:ref:refs/heads/main"
    federate(client, org, bot.agent_id, issuer["issuer_id"], sub, repository="acme/invoices")
    resp = exchange(client, org, github.token())
    assert resp.status_code == 200, resp.text
    assert claims_of(resp.json()["access_token"])["federated"] == {"iss": github.issuer, "sub": sub}


def test_github_token_whose_claim_differs_matches_no_rule(client, org, bot, github):
    issuer = trust(client, org, github)
    sub = "repo:acme/invoices:ref:refs/heads/main"
    federate(client, org, bot.agent_id, issuer["issuer_id"], sub, workflow="release")
    assert_refused(client, org, exchange(client, org, github.token()), bot.agent_id, "federation")


def test_other_branch_of_the_repository_matches_no_rule(client, org, bot, github):
    issuer = trust(client, org, github)
    federate(
        client, org, bot.agent_id, issuer["issuer_id"], "repo:acme/invoices:ref:refs/heads/main"
    )
    token = github.token(sub="repo:acme/invoices:ref:refs/heads/feature", ref="refs/heads/feature")
    assert_refused(client, org, exchange(client, org, token), bot.agent_id, "federation")


# --- every refusal: 400 invalid_request naming the rule, nothing issued, audited ----------


def test_token_from_an_untrusted_issuer_is_refused(client, org, bot, kubernetes, k8s_rule):
    token = kubernetes.token(iss="https://evil.example")
    assert_refused(client, org, exchange(client, org, token), bot.agent_id, "issuer")


def test_token_from_a_user_issuer_is_not_a_workload_token(client, org, bot, kubernetes):
    trust(client, org, kubernetes, kind="user")
    resp = exchange(client, org, kubernetes.token())
    assert_refused(client, org, resp, bot.agent_id, "issuer")
    assert "users, not workloads" in resp.json()["error_description"]


def test_issuer_trusted_by_another_org_is_untrusted_here(client, org, bot, kubernetes):
    other = make_org("Other")
    theirs = register_agent(client, other, capabilities=["document.read"])
    issuer = trust(client, other, kubernetes)
    federate(client, other, theirs.agent_id, issuer["issuer_id"], kubernetes.base_claims["sub"])
    assert_refused(client, org, exchange(client, org, kubernetes.token()), bot.agent_id, "issuer")
    assert issued_tokens(theirs.agent_id) == 0


@pytest.mark.parametrize(
    ("claims", "rule"),
    [
        ({"aud": "https://someone-else.example"}, "aud"),
        ({"exp": DROP}, "exp"),
        ({"exp": 1_000_000_000}, "exp"),  # expired long ago
        ({"nbf": 4_000_000_000}, "nbf"),  # not valid yet
        ({"iat": 4_000_000_000}, "iat"),
        ({"exp": 4_000_000_000}, "exp"),  # a lifetime beyond 24 hours
    ],
)
def test_token_breaking_a_claim_rule_is_refused(
    client, org, bot, kubernetes, k8s_rule, claims, rule
):
    resp = exchange(client, org, kubernetes.token(**claims))
    assert_refused(client, org, resp, bot.agent_id, rule)


def test_unsigned_token_alg_none_is_refused(client, org, bot, kubernetes, k8s_rule):
    token = jwt.encode(
        {
            "iss": kubernetes.issuer,
            "sub": kubernetes.base_claims["sub"],
            "aud": kubernetes.audience,
        },
        None,
        algorithm="none",
    )
    assert_refused(client, org, exchange(client, org, token), bot.agent_id, "alg")


def hs256_forged_with(secret: bytes, header: dict, claims: dict) -> str:
    """HS256 by hand: PyJWT (rightly) will not use a PEM public key as an HMAC secret."""

    def b64(data: dict) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_hs256_signed_with_the_public_key_is_refused(client, org, bot, github):
    # given the classic confusion: the issuer's public key used as an HMAC secret
    issuer = trust(client, org, github)
    federate(client, org, bot.agent_id, issuer["issuer_id"], github.base_claims["sub"])
    header = {"alg": "HS256", "typ": "JWT", "kid": github.kid}
    token = hs256_forged_with(public_pem(github.private_key), header, claims_of(github.token()))
    assert_refused(client, org, exchange(client, org, token), bot.agent_id, "alg")


def test_jku_header_is_refused(client, org, bot, kubernetes, k8s_rule, server):
    token = kubernetes.token(headers={"jku": kubernetes.jwks_uri})
    assert_refused(client, org, exchange(client, org, token), bot.agent_id, "header")


def test_token_signed_by_another_key_is_refused(client, org, bot, kubernetes, k8s_rule):
    kubernetes.private_key = generate_private_key(SECP256R1())
    assert_refused(
        client, org, exchange(client, org, kubernetes.token()), bot.agent_id, "signature"
    )


def test_rule_deleted_a_second_ago_no_longer_exchanges(client, org, bot, kubernetes, k8s_rule):
    # given a workload that exchanged once
    assert exchange(client, org, kubernetes.token()).status_code == 200
    before = issued_tokens(bot.agent_id)
    # when the admin deletes its rule
    url = f"{org.api}/agents/{bot.agent_id}/federation/{k8s_rule['rule_id']}"
    assert client.delete(url, headers=org.admin).status_code == 204
    # then the very next exchange is refused and nothing more is issued
    resp = exchange(client, org, kubernetes.token())
    assert_oauth_error(resp, 400, "invalid_request", mentions="(federation)")
    assert issued_tokens(bot.agent_id) == before


def test_suspended_agent_gets_no_federated_token(client, org, bot, kubernetes, k8s_rule):
    client.patch(
        f"{org.api}/agents/{bot.agent_id}", json={"status": "suspended"}, headers=org.admin
    )
    resp = exchange(client, org, kubernetes.token())
    assert_refused(client, org, resp, bot.agent_id, "agent")


def test_scope_outside_the_capabilities_is_invalid_scope(client, org, bot, kubernetes, k8s_rule):
    resp = exchange(client, org, kubernetes.token(), scope="admin.delete")
    assert_oauth_error(resp, 400, "invalid_scope")
    assert_nothing_issued(client, org, bot.agent_id)


@pytest.mark.parametrize(
    ("form", "mentions"),
    [
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "subject_token_type"),
        ({"subject_token": ""}, "subject_token"),
        ({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}, "requested"),
        ({"actor_token": "x"}, "actor_token_type"),
    ],
)
def test_malformed_exchange_form_is_invalid_request(
    client, org, kubernetes, k8s_rule, form, mentions
):
    resp = exchange(client, org, kubernetes.token(), **form)
    assert_oauth_error(resp, 400, "invalid_request", mentions=mentions)


def test_garbage_subject_token_is_invalid_request_not_500(client, org, k8s_rule):
    for token in ("x", "a.b.c", "." * 3, "é.é.é"):
        assert_oauth_error(exchange(client, org, token), 400, "invalid_request")

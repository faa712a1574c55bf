"""Trusted issuers and federation rules: the admin API and its refusals."""

import pytest

from tests.factories import make_org, register_agent
from tests.federation.conftest import exchange, federate, trust
from tests.helpers import assert_oauth_error, audit_events


def test_issuer_with_inline_jwks_is_listed_and_deleted(client, org, kubernetes):
    body = {
        "issuer": kubernetes.issuer,
        "kind": "workload",
        "audiences": [kubernetes.audience],
        "jwks": {"keys": [kubernetes.public_jwk()]},
        "name": "prod cluster",
    }
    created = client.post(f"{org.api}/trusted-issuers", json=body, headers=org.admin)
    assert created.status_code == 201, created.text
    issuer = created.json()
    assert issuer["issuer_id"].startswith("tis_") and issuer["key_ids"] == [kubernetes.kid]
    listed = client.get(f"{org.api}/trusted-issuers", headers=org.admin).json()["items"]
    assert [i["issuer_id"] for i in listed] == [issuer["issuer_id"]]
    url = f"{org.api}/trusted-issuers/{issuer['issuer_id']}"
    assert client.delete(url, headers=org.admin).status_code == 204
    assert client.get(f"{org.api}/trusted-issuers", headers=org.admin).json()["items"] == []
    actions = {e["action"] for e in audit_events(client, org)}
    assert {"issuer.create", "issuer.delete"} <= actions


def test_inline_issuer_keys_verify_exchanged_tokens(client, org, kubernetes):
    bot = register_agent(client, org, capabilities=["document.read"])
    body = {
        "issuer": kubernetes.issuer,
        "kind": "workload",
        "audiences": [kubernetes.audience],
        "jwks": {"keys": [kubernetes.public_jwk()]},
    }
    issuer = client.post(f"{org.api}/trusted-issuers", json=body, headers=org.admin).json()
    federate(client, org, bot.agent_id, issuer["issuer_id"], kubernetes.base_claims["sub"])
    assert exchange(client, org, kubernetes.token()).status_code == 200


def test_deleting_an_issuer_stops_its_exchanges(client, org, kubernetes):
    bot = register_agent(client, org, capabilities=["document.read"])
    issuer = trust(client, org, kubernetes)
    federate(client, org, bot.agent_id, issuer["issuer_id"], kubernetes.base_claims["sub"])
    client.delete(f"{org.api}/trusted-issuers/{issuer['issuer_id']}", headers=org.admin)
    resp = exchange(client, org, kubernetes.token())
    assert_oauth_error(resp, 400, "invalid_request", mentions="(issuer)")
    rules = client.get(f"{org.api}/agents/{bot.agent_id}/federation", headers=org.admin)
    assert rules.json()["items"] == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"kind": "robot"}, 422),
        ({"audiences": []}, 422),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, 422),
        ({"jwks_uri": None}, 422),  # neither jwks nor jwks_uri
        ({"subject_claim": "name"}, 422),
    ],
)
def test_bad_issuer_is_refused(client, org, kubernetes, change, status):
    body = {
        "issuer": kubernetes.issuer,
        "kind": "workload",
        "audiences": ["a"],
        "jwks_uri": kubernetes.jwks_uri,
        **change,
    }
    resp = client.post(f"{org.api}/trusted-issuers", json=body, headers=org.admin)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] and resp.json()["error_description"]


def test_the_same_issuer_twice_for_one_kind_is_409(client, org, kubernetes):
    trust(client, org, kubernetes)
    body = {
        "issuer": kubernetes.issuer,
        "kind": "workload",
        "audiences": ["x"],
        "jwks_uri": kubernetes.jwks_uri,
    }
    resp = client.post(f"{org.api}/trusted-issuers", json=body, headers=org.admin)
    assert_oauth_error(resp, 409, "conflict")


def test_rule_needs_a_workload_issuer_of_this_org(client, org, kubernetes):
    bot = register_agent(client, org, capabilities=["document.read"])
    users = trust(client, org, kubernetes, kind="user")
    body = {"issuer_id": users["issuer_id"], "subject": "x"}
    url = f"{org.api}/agents/{bot.agent_id}/federation"
    assert_oauth_error(client.post(url, json=body, headers=org.admin), 422, "invalid_request")
    other = make_org("Other")
    theirs = trust(client, other, kubernetes)
    body = {"issuer_id": theirs["issuer_id"], "subject": "x"}
    assert_oauth_error(client.post(url, json=body, headers=org.admin), 404, "not_found")


def test_other_orgs_issuers_are_invisible(client, org, kubernetes):
    theirs = trust(client, make_org("Other"), kubernetes)
    url = f"{org.api}/trusted-issuers/{theirs['issuer_id']}"
    assert_oauth_error(client.delete(url, headers=org.admin), 404, "not_found")
    assert client.get(f"{org.api}/trusted-issuers", headers=org.admin).json()["items"] == []


def test_issuer_routes_need_an_admin_token(client, org, kubernetes):
    bot = register_agent(client, org, capabilities=["document.read"])
    resp = client.get(f"{org.api}/trusted-issuers", headers=bot.bearer(client))
    assert resp.status_code == 401

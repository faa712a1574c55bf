"""Agents' public keys: what a JWK must be to be registered, and keys served from a jwks_uri."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, SECP384R1
from cryptography.hazmat.primitives.asymmetric.ec import generate_private_key as ec_key
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as rsa_key

from app.identity import remote_jwks
from tests.factories import AgentHandle, ed25519_jwk, request_token
from tests.helpers import assert_nothing_issued, assert_oauth_error, assert_rule, audit_events
from tests.local_http import local_server


def register(client, org, name="keyed-agent", **keys):
    body = {"name": name, "capabilities": ["document.read"], **keys}
    return client.post(f"{org.api}/agents/register", json=body, headers=org.admin)


def assert_refused_422(client, org, resp, mentions: str) -> None:
    """422 naming the rule, and no agent was created."""
    assert_oauth_error(resp, 422, "invalid_request", mentions=mentions)
    agents = client.get(f"{org.api}/agents", headers=org.admin).json()["items"]
    assert agents == []
    assert not audit_events(client, org, action="agent.register")


def jwks_of(*jwks):
    return {"keys": list(jwks)}


# --- JWK validation -----------------------------------------------------------------------


def test_rsa_1024_key_is_refused(client, org):
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(65537, 1024).public_key(), as_dict=True)
    resp = register(client, org, jwks=jwks_of(jwk))
    assert_refused_422(client, org, resp, mentions="RSA-1024")


@pytest.mark.parametrize("kind", ["okp", "ec", "rsa"])
def test_jwk_with_private_members_is_refused(client, org, kind):
    # given a JWK that carries the private key (d, and for RSA p, q, dp, dq, qi)
    private = {
        "okp": lambda: jwt.algorithms.OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate()),
        "ec": lambda: jwt.algorithms.ECAlgorithm.to_jwk(ec_key(SECP256R1())),
        "rsa": lambda: jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(65537, 2048)),
    }[kind]()
    resp = register(client, org, jwks=jwks_of(json.loads(private)))
    body = assert_oauth_error(resp, 422, "invalid_request", mentions="private key material")
    assert "d" in body["error_description"]
    assert client.get(f"{org.api}/agents", headers=org.admin).json()["items"] == []


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_any_private_member_alone_is_refused(client, org, member):
    jwk = {**ed25519_jwk(Ed25519PrivateKey.generate(), "k1"), member: "AAAA"}
    resp = register(client, org, jwks=jwks_of(jwk))
    assert_refused_422(client, org, resp, mentions=member)


def test_symmetric_oct_key_is_refused(client, org):
    resp = register(client, org, jwks=jwks_of({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"}))
    assert_refused_422(client, org, resp, mentions="oct")


def test_oct_key_without_k_is_refused(client, org):
    resp = register(client, org, jwks=jwks_of({"kty": "oct", "kid": "x"}))
    assert_refused_422(client, org, resp, mentions="oct")


@pytest.mark.parametrize(
    ("jwk", "mentions"),
    [
        (
            lambda: jwt.algorithms.ECAlgorithm.to_jwk(
                ec_key(SECP384R1()).public_key(), as_dict=True
            ),
            "P-256",
        ),
        (
            lambda: jwt.algorithms.OKPAlgorithm.to_jwk(
                Ed448PrivateKey.generate().public_key(), as_dict=True
            ),
            "Ed25519",
        ),
        (lambda: {**ed25519_jwk(Ed25519PrivateKey.generate(), "k"), "alg": "ES256"}, "ES256"),
        (lambda: {**ed25519_jwk(Ed25519PrivateKey.generate(), "k"), "alg": "HS256"}, "HS256"),
        (lambda: {**ed25519_jwk(Ed25519PrivateKey.generate(), "k"), "alg": "none"}, "none"),
        (lambda: {"kty": "XYZ", "x": "AAAA"}, "unsupported key type"),
        (lambda: {"kty": "OKP", "crv": "Ed25519", "x": "not-base64!"}, "not a valid"),
        (lambda: {"kty": "OKP", "crv": "Ed25519", "x": 12}, "not a valid"),
        (lambda: {"kty": "OKP", "crv": "Ed25519"}, "not a valid"),
        (lambda: {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "not a valid"),
        (lambda: "a string", "JSON object"),
    ],
    ids=[
        "p384",
        "ed448",
        "okp-es256",
        "okp-hs256",
        "okp-none",
        "kty",
        "bad-b64",
        "x-int",
        "no-x",
        "ec-off-curve",
        "not-object",
    ],
)
def test_unsupported_or_broken_jwk_is_refused(client, org, jwk, mentions):
    resp = register(client, org, jwks=jwks_of(jwk()))
    assert_refused_422(client, org, resp, mentions=mentions)


@pytest.mark.parametrize(
    ("jwks", "mentions"),
    [
        ({"keys": []}, "between 1 and"),
        ({"keys": "x"}, "keys"),
        ({}, "keys"),
        (
            {"keys": [ed25519_jwk(Ed25519PrivateKey.generate(), f"k{i}") for i in range(11)]},
            "between 1 and",
        ),
        (
            {
                "keys": [
                    ed25519_jwk(Ed25519PrivateKey.generate(), "same"),
                    ed25519_jwk(Ed25519PrivateKey.generate(), "same"),
                ]
            },
            "distinct kid",
        ),
        ({"keys": [ed25519_jwk(Ed25519PrivateKey.generate(), "")]}, "kid"),
        ({"keys": [ed25519_jwk(Ed25519PrivateKey.generate(), "bad\x00kid")]}, "kid"),
        ({"keys": [ed25519_jwk(Ed25519PrivateKey.generate(), "x" * 300)]}, "kid"),
    ],
    ids=[
        "empty",
        "not-list",
        "no-keys",
        "too-many",
        "duplicate-kid",
        "empty-kid",
        "nul-kid",
        "long-kid",
    ],
)
def test_malformed_jwks_is_refused(client, org, jwks, mentions):
    resp = register(client, org, jwks=jwks)
    assert_refused_422(client, org, resp, mentions=mentions)


def test_both_or_neither_of_jwks_and_jwks_uri_is_refused(client, org):
    jwks = jwks_of(ed25519_jwk(Ed25519PrivateKey.generate(), "k"))
    resp = register(client, org, jwks=jwks, jwks_uri="https://keys.example/jwks.json")
    assert_refused_422(client, org, resp, mentions="exactly one")
    assert_refused_422(client, org, register(client, org), mentions="exactly one")


def test_key_without_kid_gets_its_thumbprint(client, org):
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(
        Ed25519PrivateKey.generate().public_key(), as_dict=True
    )
    resp = register(client, org, jwks=jwks_of(jwk))
    assert resp.status_code == 201, resp.text
    assert len(resp.json()["key_ids"][0]) == 43  # base64url SHA-256


# --- jwks_uri -----------------------------------------------------------------------------


def _key(kid: str) -> tuple[Ed25519PrivateKey, dict]:
    private = Ed25519PrivateKey.generate()
    return private, ed25519_jwk(private, kid)


def _handle(client, org, resp, private, kid) -> AgentHandle:
    assert resp.status_code == 201, resp.text
    return AgentHandle(
        org=org, agent_id=resp.json()["agent_id"], name="u", private_key=private, kid=kid
    )


def test_keys_from_a_jwks_uri_authenticate_the_agent(client, org):
    private, jwk = _key("uri-1")
    with local_server() as server:
        uri = server.answer("/jwks.json", json.dumps(jwks_of(jwk)))
        resp = register(client, org, jwks_uri=uri)
        agent = _handle(client, org, resp, private, "uri-1")
        assert resp.json()["jwks_uri"] == uri and resp.json()["key_ids"] == ["uri-1"]
        assert request_token(client, org, agent.assertion()).status_code == 200


def test_unknown_kid_refetches_the_jwks_after_a_rotation_at_the_uri(client, org, monkeypatch):
    # given an agent whose keys live at a URI, and a token obtained with the first key
    first, first_jwk = _key("gen-1")
    second, second_jwk = _key("gen-2")
    with local_server() as server:
        uri = server.answer("/jwks.json", json.dumps(jwks_of(first_jwk)))
        agent = _handle(client, org, register(client, org, jwks_uri=uri), first, "gen-1")
        assert request_token(client, org, agent.assertion()).status_code == 200
        fetched = server.hits("/jwks.json")
        # when the agent rotates its key at the URI and signs with the new kid
        server.answer("/jwks.json", json.dumps(jwks_of(second_jwk)))
        agent.private_key, agent.kid = second, "gen-2"
        # then, within the refresh floor, the cached set answers (no fetch storm on unknown kids)
        resp = request_token(client, org, agent.assertion())
        assert_rule(resp, "kid")
        assert server.hits("/jwks.json") == fetched
        # and once the floor has passed the unknown kid forces one refetch, which succeeds
        later = time.monotonic() + remote_jwks.JwksCache.MIN_REFRESH_SECONDS + 1
        monkeypatch.setattr(remote_jwks.jwks_cache, "clock", lambda: later)
        resp = request_token(client, org, agent.assertion())
        assert resp.status_code == 200, resp.text
        assert server.hits("/jwks.json") == fetched + 1
        # and the retired key no longer works
        agent.private_key, agent.kid = first, "gen-1"
        assert_rule(request_token(client, org, agent.assertion()), "kid")


def test_jwks_uri_redirect_is_not_followed(client, org):
    _private, jwk = _key("redir")
    with local_server() as server:
        target = server.answer("/real.json", json.dumps(jwks_of(jwk)))
        uri = server.answer("/jwks.json", b"", status=302, Location=target)
        resp = register(client, org, jwks_uri=uri)
        assert_refused_422(client, org, resp, mentions="302")
        assert server.hits("/real.json") == 0


def test_oversized_jwks_document_is_refused(client, org):
    _private, jwk = _key("big")
    padded = {**jwks_of(jwk), "padding": "x" * (70 * 1024)}
    with local_server() as server:
        resp = register(client, org, jwks_uri=server.answer("/jwks.json", json.dumps(padded)))
    assert_refused_422(client, org, resp, mentions="larger than the limit")


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ("not json", 200, "not a valid public JWKS"),
        ("[" * 20000, 200, "not a valid public JWKS"),
        ("{}", 404, "HTTP 404"),
        (json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}), 200, "oct"),
    ],
    ids=["not-json", "deeply-nested", "not-found", "symmetric"],
)
def test_bad_jwks_document_is_refused(client, org, body, status, mentions):
    with local_server() as server:
        resp = register(client, org, jwks_uri=server.answer("/jwks.json", body, status=status))
    assert_refused_422(client, org, resp, mentions=mentions)


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/jwks.json",
        "javascript:alert(1)",
        "gopher://127.0.0.1:70/",
        "http:///nohost",
        "https://user:pass@keys.example/jwks.json",
        "not a url",
    ],
)
def test_jwks_uri_must_be_a_plain_http_url(client, org, uri):
    resp = register(client, org, jwks_uri=uri)
    assert_refused_422(client, org, resp, mentions="jwks_uri")


def test_unreachable_jwks_uri_at_token_time_is_an_audited_refusal(client, org):
    private, jwk = _key("gone")
    with local_server() as server:
        uri = server.answer("/jwks.json", json.dumps(jwks_of(jwk)))
        agent = _handle(client, org, register(client, org, jwks_uri=uri), private, "gone")
    # the server is gone, and nothing was cached for this URI yet
    resp = request_token(client, org, agent.assertion())
    assert_rule(resp, "jwks_uri")
    assert_nothing_issued(client, org, agent.agent_id, rule="jwks_uri")
    # and in the RFC 7523 grant form the same refusal is invalid_grant
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
    resp = client.post(f"{org.api}/oauth/token", data={**form, "assertion": agent.assertion()})
    assert_oauth_error(resp, 400, "invalid_grant", mentions="(jwks_uri)")


def test_jwks_rotation_through_the_api_replaces_the_keys(client, org, agent):
    # given a new key pair registered with PUT /agents/{id}/jwks
    private, jwk = _key("rotated")
    resp = client.put(
        f"{org.api}/agents/{agent.agent_id}/jwks", json={"jwks": jwks_of(jwk)}, headers=org.admin
    )
    assert resp.status_code == 200 and resp.json()["key_ids"] == ["rotated"]
    # then the old key is refused and the new one works
    assert_rule(request_token(client, org, agent.assertion()), "kid")
    agent.private_key, agent.kid = private, "rotated"
    assert request_token(client, org, agent.assertion()).status_code == 200

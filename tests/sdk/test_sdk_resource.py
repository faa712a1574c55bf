"""Unit tests of TokenVerifier: discovery, pinned algorithm, claim checks, key caching."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from jitgate import AuthenticationFailed, SigningKey, TokenExpired, generate_key
from jitgate.resource import TokenVerifier

ISSUER = "http://jitgate.test/orgs/acme"


class Issuer:
    """Serves RFC 8414 metadata and a JWKS; counts JWKS fetches."""

    def __init__(self) -> None:
        pem, self.jwks = generate_key()
        self.key = SigningKey.from_pem(pem)
        self.jwks_fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("oauth-authorization-server"):
            return httpx.Response(
                200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/.well-known/jwks.json"}
            )
        self.jwks_fetches += 1
        return httpx.Response(200, json=self.jwks)

    def token(
        self, *, headers: dict | None = None, key=None, algorithm: str = "EdDSA", **claims
    ) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "sub": "agt_1",
            "aud": ISSUER,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": "j1",
            "scope": "document.read",
        } | claims
        head = {"typ": "at+jwt", "kid": self.key.kid} | (headers or {})
        return jwt.encode(body, key or self.key.key, algorithm=algorithm, headers=head)


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def verifier(issuer: Issuer) -> TokenVerifier:
    return TokenVerifier(
        ISSUER, http_client=httpx.Client(transport=httpx.MockTransport(issuer.handle))
    )


def test_valid_token_is_verified_and_keys_are_cached(issuer, verifier):
    assert verifier.verify(issuer.token()).scopes == ("document.read",)
    verifier.verify(issuer.token())
    assert issuer.jwks_fetches == 1


def test_algorithm_from_the_header_is_never_trusted(issuer, verifier):
    forged = jwt.encode(
        {"iss": ISSUER},
        "secret",
        algorithm="HS256",
        headers={"typ": "at+jwt", "kid": issuer.key.kid},
    )
    with pytest.raises(AuthenticationFailed, match="algorithm"):
        verifier.verify(forged)


def test_token_signed_by_another_key_is_refused(issuer, verifier):
    other = SigningKey.from_pem(generate_key()[0])
    with pytest.raises(AuthenticationFailed):
        verifier.verify(issuer.token(key=other.key))


def test_id_token_or_plain_jwt_is_not_an_access_token(issuer, verifier):
    with pytest.raises(AuthenticationFailed, match="not an access token"):
        verifier.verify(issuer.token(headers={"typ": "JWT"}))


@pytest.mark.parametrize(
    "claims", [{"iss": "http://evil.test/orgs/acme"}, {"aud": "https://other.example"}]
)
def test_wrong_issuer_or_audience_is_refused(issuer, verifier, claims):
    with pytest.raises(AuthenticationFailed):
        verifier.verify(issuer.token(**claims))


def test_expired_token_raises_token_expired(issuer, verifier):
    with pytest.raises(TokenExpired):
        verifier.verify(issuer.token(exp=int(time.time()) - 120))


def test_unknown_kid_refetches_at_most_once_in_a_while(issuer, verifier):
    verifier.verify(issuer.token())
    for _ in range(3):
        with pytest.raises(AuthenticationFailed, match="unknown signing key"):
            verifier.verify(issuer.token(headers={"kid": "rotated-away"}))
    assert issuer.jwks_fetches <= 2


# --- chain of agency (RFC 8693 `act`) and federation ----------------------------------------


def act(*actors: str) -> dict:
    """Nested `act` for actors given most recent first, as jitgate writes it."""
    nested: dict | None = None
    for sub in reversed(actors):
        nested = {"sub": sub, "agent": f"name-of-{sub}"} | ({"act": nested} if nested else {})
    assert nested is not None
    return nested


@pytest.mark.parametrize(
    "bad, rule",
    [
        ("agt_planner", "act is not an object"),
        (["agt_planner"], "act is not an object"),
        ({"agent": "planner"}, "an actor has no sub"),
        ({"sub": ""}, "an actor has no sub"),
        ({"sub": 7}, "an actor has no sub"),
        ({"sub": "agt_a", "act": "agt_b"}, "act is not an object"),
        ({"sub": "agt_a", "act": {"agent": "b"}}, "an actor has no sub"),
        ({"sub": "agt_a", "agent": ["planner"]}, "an actor's agent name is not a string"),
        (None, "act is not an object"),
        ({"sub": "agt_a", "act": None}, "act is not an object"),
        (act("agt_d", "agt_c", "agt_b", "agt_a"), "more than 3 actors"),
    ],
)
def test_malformed_act_claim_is_refused(issuer, verifier, bad, rule):
    with pytest.raises(AuthenticationFailed, match=f"malformed act claim: {rule}"):
        verifier.verify(issuer.token(sub="alice@acme.com", act=bad))


def test_three_actors_are_read_most_recent_first(issuer, verifier):
    token = issuer.token(sub="alice@acme.com", act=act("agt_mailer", "agt_planner", "agt_intake"))
    verified = verifier.verify(token)
    assert [a.subject for a in verified.actor_chain] == ["agt_mailer", "agt_planner", "agt_intake"]
    assert verified.actor_chain[0].agent == "name-of-agt_mailer"
    assert "act" not in verified.actor_chain[0].claims
    assert verified.subject == verified.on_behalf_of == "alice@acme.com"
    assert verified.agent_id == "agt_mailer"


def test_an_agents_own_token_has_no_chain_and_acts_for_nobody(issuer, verifier):
    verified = verifier.verify(issuer.token())
    assert verified.actor_chain == [] and verified.on_behalf_of is None
    assert verified.agent_id == verified.subject == "agt_1" and verified.federated is None

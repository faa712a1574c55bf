"""The SDK's TokenVerifier on tokens this server signs: a federated workload's (minted by the
real token exchange) and delegated ones (crafted here with the org's own signing key, since the
delegation grant is built separately), read through the server's real metadata and JWKS."""

import time
import uuid

import jwt
import pytest

from jitgate import AuthenticationFailed
from jitgate.resource import TokenVerifier
from tests.factories import register_agent
from tests.federation.conftest import exchange, federate, trust


@pytest.fixture
def verifier(client, org) -> TokenVerifier:
    # The in-process client is an httpx.Client: discovery and JWKS come from the app itself.
    return TokenVerifier(org.issuer, http_client=client)


@pytest.fixture
def bot(client, org):
    return register_agent(client, org, capabilities=["document.read"], name="mailer-bot")


def delegated(agent_token: str, user: str, act: object) -> str:
    """The agent's real token re-signed by the org's key as one acting for `user`."""
    from app.identity.access_tokens import sign

    claims = jwt.decode(agent_token, options={"verify_signature": False})
    return sign(claims | {"sub": user, "act": act, "jti": uuid.uuid4().hex})


def test_federated_token_from_the_exchange_names_its_platform_and_no_actor(
    client, org, bot, kubernetes, verifier
):
    issuer = trust(client, org, kubernetes)
    federate(client, org, bot.agent_id, issuer["issuer_id"], kubernetes.base_claims["sub"])
    resp = exchange(client, org, kubernetes.token())
    assert resp.status_code == 200, resp.text

    verified = verifier.verify(resp.json()["access_token"])

    assert verified.subject == verified.agent_id == bot.agent_id
    assert verified.federated == {"iss": kubernetes.issuer, "sub": kubernetes.base_claims["sub"]}
    assert verified.actor_chain == [] and verified.on_behalf_of is None


def test_delegated_token_exposes_the_user_and_the_chain_most_recent_first(
    client, org, bot, verifier
):
    planner = register_agent(client, org, capabilities=["document.read"], name="planner-bot")
    chain = {
        "sub": bot.agent_id,
        "agent": "mailer-bot",
        "act": {"sub": planner.agent_id, "agent": "planner-bot"},
    }
    token = delegated(bot.token(client), "alice@acme.com", chain)

    verified = verifier.verify(token)

    assert verified.on_behalf_of == verified.subject == "alice@acme.com"
    assert [(a.subject, a.agent) for a in verified.actor_chain] == [
        (bot.agent_id, "mailer-bot"),
        (planner.agent_id, "planner-bot"),
    ]
    assert verified.agent_id == bot.agent_id and verified.has("document.read")


@pytest.mark.parametrize(
    "act",
    [
        "agt_planner",
        {"agent": "mailer-bot"},
        {"sub": "a1", "act": {"sub": "a2", "act": {"sub": "a3", "act": {"sub": "a4"}}}},
    ],
    ids=["not-an-object", "no-sub", "four-actors"],
)
def test_malformed_chain_signed_by_the_org_itself_is_still_refused(client, org, bot, verifier, act):
    token = delegated(bot.token(client), "alice@acme.com", act)
    with pytest.raises(AuthenticationFailed, match="malformed act claim"):
        verifier.verify(token)


def test_delegated_token_signed_by_another_key_is_refused(client, org, bot, verifier):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    claims = jwt.decode(bot.token(client), options={"verify_signature": False})
    kid = jwt.get_unverified_header(bot.token(client))["kid"]
    claims |= {"sub": "alice@acme.com", "act": {"sub": bot.agent_id}, "iat": int(time.time())}
    forged = jwt.encode(
        claims,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid, "typ": "at+jwt"},
    )
    with pytest.raises(AuthenticationFailed):
        verifier.verify(forged)

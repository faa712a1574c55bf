"""A local identity provider for users (an OIDC issuer serving its JWKS over loopback HTTP),
and the delegation exchange (RFC 8693) as an agent performs it."""

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from tests.factories import AgentHandle, OrgHandle
from tests.federation.conftest import ACCESS_TOKEN_TYPE, EXCHANGE, JWT_TYPE, Platform, _serve

ALICE = "alice@acme.com"


@pytest.fixture
def idp(server) -> Platform:
    """Acme's sign-in service: ID tokens for its people, audience jitgate."""
    return _serve(
        server,
        Platform(
            issuer="https://login.acme.example",
            private_key=generate_private_key(SECP256R1()),
            alg="ES256",
            kid="idp-" + uuid.uuid4().hex[:8],
            jwks_uri="/idp/jwks.json",
            audience="https://jitgate.acme.example",
            base_claims={"sub": "00u1alice", "email": ALICE, "email_verified": True},
        ),
    )


def trust_users(client: Any, org: OrgHandle, platform: Platform, **extra: Any) -> dict:
    body = {
        "issuer": platform.issuer,
        "kind": "user",
        "audiences": [platform.audience],
        "jwks_uri": platform.jwks_uri,
        "subject_claim": "email",
        **extra,
    }
    resp = client.post(f"{org.api}/trusted-issuers", json=body, headers=org.admin)
    assert resp.status_code == 201, resp.text
    return resp.json()


def delegate(
    client: Any,
    agent: AgentHandle,
    subject_token: str,
    *,
    subject_type: str = JWT_TYPE,
    actor_token: str | None = None,
    **form: str,
) -> Any:
    """The exchange: the agent authenticates with its assertion, or with actor_token."""
    data = {
        "grant_type": EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": subject_type,
    }
    if actor_token is None:
        data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        data["client_assertion"] = agent.assertion()
    else:
        data["actor_token"] = actor_token
        data["actor_token_type"] = ACCESS_TOKEN_TYPE
    return client.post(f"{agent.org.api}/oauth/token", data={**data, **form})


def delegated_token(client: Any, agent: AgentHandle, subject_token: str, **kw: Any) -> str:
    resp = delegate(client, agent, subject_token, **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def hop(client: Any, agent: AgentHandle, previous: str, **kw: Any) -> Any:
    """A further hop: the previous agent's delegated token is the subject."""
    return delegate(client, agent, previous, subject_type=ACCESS_TOKEN_TYPE, **kw)


def inline_idp() -> Platform:
    """The same identity provider, for tests that trust it with an inline JWKS (no server)."""
    return Platform(
        issuer="https://login.acme.example",
        private_key=generate_private_key(SECP256R1()),
        alg="ES256",
        kid="idp-" + uuid.uuid4().hex[:8],
        jwks_uri="",
        audience="https://jitgate.acme.example",
        base_claims={"sub": "00u1alice", "email": ALICE, "email_verified": True},
    )


def acting_for_alice(client: Any, agent: AgentHandle, **form: str) -> str:
    """A delegated token for `agent` (which holds delegation.act) acting for alice."""
    platform = inline_idp()
    body = {
        "issuer": platform.issuer,
        "kind": "user",
        "audiences": [platform.audience],
        "jwks": {"keys": [platform.public_jwk()]},
        "subject_claim": "email",
    }
    resp = client.post(f"{agent.org.api}/trusted-issuers", json=body, headers=agent.org.admin)
    assert resp.status_code == 201, resp.text
    return delegated_token(client, agent, platform.token(), **form)

"""Local platform issuers (a Kubernetes cluster, GitHub Actions) that serve their JWKS over
loopback HTTP with keys made in the test, and the admin calls that trust them."""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as rsa_key

from tests.factories import DROP, OrgHandle
from tests.local_http import LocalServer, local_server

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


@dataclass
class Platform:
    """An OIDC issuer of workload tokens: its URL, its signing key, and the JWKS it serves."""

    issuer: str
    private_key: Any
    alg: str
    kid: str
    jwks_uri: str
    audience: str
    base_claims: dict[str, Any]

    def public_jwk(self) -> dict[str, Any]:
        algo = jwt.algorithms.get_default_algorithms()[self.alg]
        jwk = algo.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def token(self, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": self.audience, "iat": now, "nbf": now - 5}
        body |= {"exp": now + 600, "jti": uuid.uuid4().hex, **self.base_claims, **claims}
        body = {k: v for k, v in body.items() if v is not DROP}
        head = {"kid": self.kid, **(headers or {})}
        return jwt.encode(body, self.private_key, algorithm=self.alg, headers=head)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


def _serve(server: LocalServer, platform: Platform) -> Platform:
    path = platform.jwks_uri
    platform.jwks_uri = server.answer(path, json.dumps({"keys": [platform.public_jwk()]}))
    return platform


@pytest.fixture
def kubernetes(server) -> Platform:
    """A cluster's service-account issuer (ES256 here; clusters use RS256 or ES256)."""
    sa = "system:serviceaccount:payments:invoice-bot"
    claims = {
        "sub": sa,
        "kubernetes.io": {
            "namespace": "payments",
            "serviceaccount": {"name": "invoice-bot", "uid": str(uuid.uuid4())},
            "pod": {"name": "invoice-bot-7d9f8-abcde", "uid": str(uuid.uuid4())},
        },
    }
    return _serve(
        server,
        Platform(
            issuer="https://kubernetes.default.svc.cluster.local",
            private_key=generate_private_key(SECP256R1()),
            alg="ES256",
            kid="k8s-" + uuid.uuid4().hex[:8],
            jwks_uri="/k8s/openid/v1/jwks",
            audience="https://jitgate.example",
            base_claims=claims,
        ),
    )


@pytest.fixture(scope="session")
def rsa_private_key() -> Any:
    return rsa_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def github(server, rsa_private_key) -> Platform:
    """GitHub Actions' OIDC issuer (RS256), for acme/invoices on main."""
    claims = {
        "sub": "repo:acme/invoices:ref:refs/heads/main",
        "repository": "acme/invoices",
        "repository_owner": "acme",
        "ref": "refs/heads/main",
        "workflow": "nightly",
        "event_name": "schedule",
    }
    return _serve(
        server,
        Platform(
            issuer="https://token.actions.githubusercontent.com",
            private_key=rsa_private_key,
            alg="RS256",
            kid="gh-" + uuid.uuid4().hex[:8],
            jwks_uri="/github/.well-known/jwks",
            audience="jitgate",
            base_claims=claims,
        ),
    )


def trust(client, org: OrgHandle, platform: Platform, kind: str = "workload") -> dict:
    body = {
        "issuer": platform.issuer,
        "kind": kind,
        "audiences": [platform.audience],
        "jwks_uri": platform.jwks_uri,
    }
    resp = client.post(f"{org.api}/trusted-issuers", json=body, headers=org.admin)
    assert resp.status_code == 201, resp.text
    return resp.json()


def federate(client, org: OrgHandle, agent_id: str, issuer_id: str, subject: str, **claims):
    body = {"issuer_id": issuer_id, "subject": subject, "claims": claims or None}
    resp = client.post(f"{org.api}/agents/{agent_id}/federation", json=body, headers=org.admin)
    assert resp.status_code == 201, resp.text
    return resp.json()


def exchange(client, org: OrgHandle, platform_token: str, **form: str):
    data = {"grant_type": EXCHANGE, "subject_token": platform_token, "subject_token_type": JWT_TYPE}
    return client.post(f"{org.api}/oauth/token", data={**data, **form})

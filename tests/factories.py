"""Builders for test data, through the same services and HTTP routes a user would use."""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER_BASE = "http://testserver"


@dataclass
class OrgHandle:
    org_id: str
    admin_token: str

    @property
    def api(self) -> str:
        return f"/orgs/{self.org_id}/api/v1"

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def issuer(self) -> str:
        return f"{ISSUER_BASE}/orgs/{self.org_id}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/api/v1/oauth/token"


@dataclass
class AgentHandle:
    org: OrgHandle
    agent_id: str
    name: str
    private_key: Any
    kid: str
    alg: str = "EdDSA"
    owner: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def assertion(self, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.agent_id,
            "sub": self.agent_id,
            "aud": self.org.token_endpoint,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not DROP}
        head = {"kid": self.kid, **(headers or {})}
        return jwt.encode(body, self.private_key, algorithm=self.alg, headers=head)

    def token(self, client: Any, scope: str | None = None, **form: str) -> str:
        resp = request_token(client, self.org, self.assertion(), scope=scope, **form)
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]

    def bearer(self, client: Any, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client, scope)}"}


DROP = object()  # pass as a claim value to leave the claim out


def make_org(name: str = "Acme") -> OrgHandle:
    from app.core.db import session_scope
    from app.identity import orgs

    with session_scope() as session:
        org, issued = orgs.create_org(session, name=name)
    return OrgHandle(org_id=org.id, admin_token=issued.token)


def ed25519_jwk(private_key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "EdDSA"}


def register_agent(
    client: Any,
    org: OrgHandle,
    *,
    capabilities: list[str],
    name: str | None = None,
    owner: str | None = None,
    private_key: Any = None,
    jwk: dict | None = None,
    alg: str = "EdDSA",
) -> AgentHandle:
    private_key = private_key or Ed25519PrivateKey.generate()
    kid = f"k-{uuid.uuid4().hex[:8]}"
    jwk = jwk or ed25519_jwk(private_key, kid)
    kid = jwk.get("kid", kid)
    name = name or f"agent-{uuid.uuid4().hex[:10]}"
    body = {"name": name, "capabilities": capabilities, "jwks": {"keys": [jwk]}}
    if owner:
        body["owner"] = owner
    resp = client.post(f"{org.api}/agents/register", json=body, headers=org.admin)
    assert resp.status_code == 201, resp.text
    return AgentHandle(
        org=org,
        agent_id=resp.json()["agent_id"],
        name=name,
        private_key=private_key,
        kid=kid,
        alg=alg,
        owner=owner,
    )


def request_token(
    client: Any, org: OrgHandle, assertion: str, scope: str | None = None, **form: str
) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        **form,
    }
    if scope is not None:
        data["scope"] = scope
    return client.post(f"{org.api}/oauth/token", data=data)


def public_pem(private_key: Any) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def set_policy(client: Any, org: OrgHandle, permission: str, mode: str, **extra: Any) -> dict:
    resp = client.post(
        f"{org.api}/policies",
        json={"permission": permission, "mode": mode, **extra},
        headers=org.admin,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()

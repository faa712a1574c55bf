"""An org on a live jitgate server, driven over HTTP: an approver, a JIT policy, an agent."""

import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.factories import ed25519_jwk

PERMISSION = "payments.authorize"


class LiveOrg:
    """An org's admin, approver and agent talking to the live server over HTTP."""

    def __init__(self, api: str, admin_token: str, *, public_api: str | None = None) -> None:
        self.api = api  # where this test sends its requests
        self.public_api = public_api or api  # the same API under the server's public URL
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.key = Ed25519PrivateKey.generate()
        self.kid = "dash-" + uuid.uuid4().hex[:8]

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        resp = httpx.post(self.api + path, json=body, headers=headers, timeout=10)
        assert resp.status_code in (200, 201, 202), resp.text
        return resp.json()

    def approver_with_jit_policy(self) -> str:
        """A new approver named by a JIT policy for PERMISSION; returns its api token."""
        approver = self.post(
            "/approvers", {"email": "dana@example.com", "name": "Dana Approver"}, self.admin
        )
        self.post(
            "/policies",
            {"permission": PERMISSION, "mode": "jit", "approvers": [approver["approver_id"]]},
            self.admin,
        )
        return approver["api_token"]

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [ed25519_jwk(self.key, self.kid)]}

    def agent_bearer(self) -> dict[str, str]:
        """Register an agent with PERMISSION and return its access token as a header."""
        agent = self.post(
            "/agents/register",
            {
                "name": "refund-bot",
                "owner": "ops@example.com",
                "capabilities": [PERMISSION],
                "jwks": {"keys": [ed25519_jwk(self.key, self.kid)]},
            },
            self.admin,
        )
        return self.bearer_for(agent["agent_id"])

    def bearer_for(self, agent_id: str) -> dict[str, str]:
        """An access token for a registered agent, signed with this org's agent key."""
        now = int(time.time())
        claims = {
            "iss": agent_id,
            "sub": agent_id,
            "aud": f"{self.public_api}/oauth/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        resp = httpx.post(f"{self.api}/oauth/token", data=form, timeout=10)
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

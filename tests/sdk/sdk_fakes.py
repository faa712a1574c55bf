"""A scripted jitgate server for SDK unit tests, served through httpx.MockTransport."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt

from jitgate import AgentAuth, SyncAgentAuth, generate_key

BASE = "http://jitgate.test"
ORG = "org_test"
AGENT = "agt_test"
API = f"{BASE}/orgs/{ORG}/api/v1"


@dataclass
class FakeServer:
    """Answers the token, check and JIT routes; tests script JIT statuses and count calls."""

    public_jwks: dict[str, Any]
    token_ttl: int = 900
    token_delay: float = 0.0
    jit_statuses: list[str] = field(default_factory=lambda: ["pending", "approved"])
    calls: list[str] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    fail_next_polls: int = 0
    rate_limit_next_polls: int = 0
    retry_after: str = "1"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(f"/orgs/{ORG}/api/v1/")
        with self.lock:
            self.calls.append(f"{request.method} {path}")
        if path == "oauth/token":
            return self._token(request)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _error(401, "invalid_token", "bearer token required")
        if path == "authz/check":
            body = json.loads(request.content)
            allowed = body["permission"] == "document.read"
            return httpx.Response(
                200, json={"allowed": allowed, "reason": "policy", "jit_required": not allowed}
            )
        if path == "jit/requests" and request.method == "POST":
            body = json.loads(request.content)
            if body["permission"] == "payments.refund":
                return _error(403, "not_eligible", "not among the agent's capabilities")
            return httpx.Response(202, json=self._jit(self.jit_statuses[0], body))
        if path.startswith("jit/requests/"):
            return self._poll()
        if path == "jit/tokens/consume":
            token = json.loads(request.content)["token"]
            if token in self.consumed:
                return _error(409, "token_already_used", "already used")
            self.consumed.add(token)
            return httpx.Response(200, json={"valid": True, "request_id": "jit_1"})
        return _error(404, "not_found", path)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        key = jwt.PyJWK(self.public_jwks["keys"][0])
        claims = jwt.decode(
            form["client_assertion"], key.key, algorithms=["EdDSA"], audience=f"{API}/oauth/token"
        )
        self.assertions.append(claims)
        if self.token_delay:
            time.sleep(self.token_delay)
        n = len(self.assertions)
        return httpx.Response(
            200,
            json={
                "access_token": f"at-{n}",
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "scope": form.get("scope", "document.read"),
            },
        )

    def _poll(self) -> httpx.Response:
        if self.fail_next_polls:
            self.fail_next_polls -= 1
            raise httpx.ConnectError("connection dropped")
        if self.rate_limit_next_polls:
            self.rate_limit_next_polls -= 1
            refused = _error(429, "rate_limited", "over the agent's requests a minute")
            refused.headers["Retry-After"] = self.retry_after
            return refused
        status = self.jit_statuses.pop(0) if len(self.jit_statuses) > 1 else self.jit_statuses[0]
        return httpx.Response(200, json=self._jit(status, {"permission": "payments.authorize"}))

    def _jit(self, status: str, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": "jit_1",
            "status": status,
            "permission": body.get("permission"),
            "operation": body.get("operation"),
            "expires_at": "2030-01-01T00:00:00Z",
        }
        if status == "approved":
            out["token"] = {
                "access_token": "jit-token",
                "expires_in": 600,
                "expires_at": "2030-01-01T00:10:00Z",
                "scope": "payments.authorize",
            }
        if status == "denied":
            out["reason"] = "not today"
        return out


def _error(status: int, code: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "error_description": description})


def make_clients(**server_kwargs: Any) -> tuple[FakeServer, AgentAuth, SyncAgentAuth]:
    pem, jwks = generate_key()
    server = FakeServer(public_jwks=jwks, **server_kwargs)
    transport = httpx.MockTransport(server.handle)
    auth = AgentAuth(BASE, ORG, AGENT, pem, http_client=httpx.AsyncClient(transport=transport))
    sync = SyncAgentAuth(BASE, ORG, AGENT, pem, http_client=httpx.Client(transport=transport))
    return server, auth, sync

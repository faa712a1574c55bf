"""Fixtures for the framework adapter tests, which run in one virtual environment per framework.

scripts/test_adapters.py starts a real jitgate server and passes it in through
JITGATE_TEST_URL, JITGATE_TEST_ORG and JITGATE_TEST_ADMIN_TOKEN. Without those (a plain
`pytest tests/`) these files are not collected: the frameworks are not installed there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

if not os.environ.get("JITGATE_TEST_URL"):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def admin() -> Any:
    from jitgate.demo import Admin

    return Admin(
        os.environ["JITGATE_TEST_URL"],
        os.environ["JITGATE_TEST_ORG"],
        os.environ["JITGATE_TEST_ADMIN_TOKEN"],
    )


@pytest.fixture
def agent(admin: Any) -> Any:
    from jitgate.demo import setup_agent

    demo = setup_agent(admin)
    if demo.approver_token is None:
        pytest.fail("the server has no approvers API: adapter tests need JIT approvals")
    return demo


@pytest.fixture
def auth(admin: Any, agent: Any) -> Any:
    from jitgate import SyncAgentAuth

    return SyncAgentAuth(
        os.environ["JITGATE_TEST_URL"],
        os.environ["JITGATE_TEST_ORG"],
        agent.agent_id,
        agent.private_key_pem,
    )


@pytest.fixture
def async_auth(auth: Any) -> Any:
    from jitgate import AgentAuth

    return AgentAuth.from_credentials(auth.credentials)


@pytest.fixture
def human(admin: Any, agent: Any) -> Callable[..., Callable[[Any], None]]:
    """An on_pending hook: the demo approver approves (or denies) shortly after the request."""

    def make(deny: bool = False, seen: list[str] | None = None) -> Callable[[Any], None]:
        def decide(approval: Any) -> None:
            if seen is not None:
                seen.append(approval.request_id)

            def later() -> None:
                if deny:
                    admin.deny(approval.request_id, agent.approver_token, reason="not today")
                else:
                    admin.approve(approval.request_id, agent.approver_token)

            threading.Timer(0.3, later).start()

        return decide

    return make


@pytest.fixture
def end_user(admin: Any, agent: Any) -> str:
    """A signed-in user's JWT from an identity provider the org trusts (keys given inline),
    and the agent allowed to act for users (`delegation.act`)."""
    import secrets
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    key = generate_private_key(SECP256R1())
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)}
    jwk |= {"kid": "idp-1", "alg": "ES256", "use": "sig"}
    issuer = f"https://login-{secrets.token_hex(4)}.acme.example"
    body = {"issuer": issuer, "kind": "user", "audiences": ["jitgate"], "jwks": {"keys": [jwk]}}
    admin.call("POST", "trusted-issuers", json=body)
    capabilities = admin.call("GET", f"agents/{agent.agent_id}")["capabilities"]
    admin.call(
        "PATCH",
        f"agents/{agent.agent_id}",
        json={"capabilities": sorted({*capabilities, "delegation.act"})},
    )
    now = int(time.time())
    claims = {"iss": issuer, "sub": "alice", "email": "alice@acme.com", "aud": "jitgate"}
    claims |= {"iat": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "idp-1"})


class ForUserSpy:
    """The subject tokens the adapters passed to AgentAuth.for_user."""

    def __init__(self) -> None:
        self.tokens: list[str] = []


@pytest.fixture
def for_user(monkeypatch: pytest.MonkeyPatch) -> ForUserSpy:
    """Spy on AgentAuth.for_user(subject_token, scope=None): records the token, then calls the
    real method, so the tests also see that jitgate saw the user."""
    from jitgate import AgentAuth

    real = AgentAuth.for_user
    spy = ForUserSpy()

    def for_user(self: Any, subject_token: str, scope: Any = None) -> Any:
        spy.tokens.append(subject_token)
        return real(self, subject_token, scope=scope)

    monkeypatch.setattr(AgentAuth, "for_user", for_user)
    return spy


MCP_TOOLS = {"get_balance": "document.read", "pay_invoice": "payments.authorize"}


@pytest.fixture
def protected_mcp(admin: Any, tmp_path: Any) -> Any:
    """An unmodified MCP server (tests/mcp/upstream_server.py) behind `jitgate mcp-proxy`, both
    run with the server's Python (the `mcp` 2.x stack), whatever `mcp` this framework pins."""
    import shlex
    import socket
    import subprocess
    import time
    from pathlib import Path
    from types import SimpleNamespace

    import httpx

    server_python = os.environ.get("JITGATE_TEST_SERVER_PYTHON")
    if not server_python:
        pytest.fail("JITGATE_TEST_SERVER_PYTHON is unset (scripts/test_adapters.py sets it)")
    repo = Path(__file__).resolve().parents[2]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    admin.call("POST", "resources", json={"name": f"mcp {port}", "resource_uri": url,
                                          "tools": MCP_TOOLS})  # fmt: skip
    runs = tmp_path / "runs.jsonl"
    upstream = shlex.join([server_python, str(repo / "tests/mcp/upstream_server.py"), str(runs)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
    env["JITGATE_ADMIN_TOKEN"] = os.environ["JITGATE_TEST_ADMIN_TOKEN"]
    cmd = [server_python, "-c", "from app.cli import main; main()", "mcp-proxy",
           "--org", os.environ["JITGATE_TEST_ORG"], "--resource", url, "--upstream-command",
           upstream, "--port", str(port), "--jitgate-url", os.environ["JITGATE_TEST_URL"]]  # fmt: skip
    log = tmp_path / "proxy.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=repo, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url.replace("/mcp", "/.well-known/oauth-protected-resource")).is_success:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"the MCP proxy did not start: {log.read_text()}")

    def ran() -> list[tuple[str, dict]]:
        import json

        lines = runs.read_text().splitlines() if runs.exists() else []
        return [(r["tool"], r["arguments"]) for r in map(json.loads, lines)]

    yield SimpleNamespace(url=url, ran=ran)
    proc.terminate()
    proc.wait(timeout=15)

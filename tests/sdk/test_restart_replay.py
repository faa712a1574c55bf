"""A real server process, stopped and started again on the same database (embedded mode, no
Redis): a client assertion used before the restart is still refused as a replay after it."""

from __future__ import annotations

import subprocess
import sys

import httpx
from live_server import REPO, STARTUP_SECONDS, _wait_healthy, server_env, start_server

from jitgate.assertion import SigningKey, sign_assertion
from jitgate.demo import Admin, setup_agent

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _token(base_url: str, org_id: str, assertion: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return httpx.post(f"{base_url}/orgs/{org_id}/api/v1/oauth/token", data=form, timeout=30)


def test_an_assertion_used_before_a_restart_is_refused_after_it(tmp_path):
    server = start_server(workdir=tmp_path)
    try:
        agent = setup_agent(Admin(server.base_url, server.org_id, server.admin_token))
        audience = f"{server.base_url}/orgs/{server.org_id}/api/v1/oauth/token"
        key = SigningKey.from_pem(agent.private_key_pem)
        used = sign_assertion(key, agent_id=agent.agent_id, audience=audience)
        fresh = sign_assertion(key, agent_id=agent.agent_id, audience=audience)
        assert _token(server.base_url, server.org_id, used).status_code == 200
    finally:
        server.stop()  # SIGTERM: a graceful stop, as a deployment restarts a process

    port = int(server.base_url.rsplit(":", 1)[1])
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    with open(tmp_path / "restarted.log", "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=REPO, env=server_env(tmp_path, port), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_healthy(server.base_url, process, tmp_path / "restarted.log", STARTUP_SECONDS)
        replayed = _token(server.base_url, server.org_id, used)
        assert replayed.status_code == 401, replayed.text
        assert "replay" in replayed.json()["error_description"]
        # the agent itself is fine: a new assertion still gets a token
        assert _token(server.base_url, server.org_id, fresh).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)

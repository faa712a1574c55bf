"""Live updates cross web processes: a dashboard on one process hears a request made on another.

Given Redis and two uvicorn web processes sharing one database (as behind a load balancer,
with one public URL), and an approver's dashboard WebSocket open on the first process: when an
agent creates a JIT request through the second process, the event reaches the dashboard.
"""

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from app.dashboard import session as sessions
from tests.dashboard.live_org import PERMISSION, LiveOrg
from tests.sdk.live_server import REPO, STARTUP_SECONDS, _wait_healthy, free_port, server_env

REDIS = shutil.which("redis-server")
JITGATE = str(Path(sys.executable).with_name("jitgate"))  # the CLI installed with the package
pytestmark = pytest.mark.skipif(REDIS is None, reason="needs redis-server on PATH")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def web_process(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def two_processes(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    first, second = free_port(), free_port()
    env = {**server_env(tmp_path, first), "JITGATE_REDIS_URL": redis_url}
    processes: list[subprocess.Popen] = []
    try:
        for port in (first, second):  # one at a time: the first creates the schema
            log = tmp_path / f"web-{port}.log"
            processes.append(web_process(env, port, log))
            _wait_healthy(f"http://127.0.0.1:{port}", processes[-1], log, STARTUP_SECONDS)
        yield f"http://127.0.0.1:{first}", f"http://127.0.0.1:{second}", env
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def create_org(env: dict[str, str]) -> dict[str, str]:
    made = subprocess.run(
        [JITGATE, "orgs", "create", "Two Processes", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(made.stdout.strip().splitlines()[-1])


def dashboard_cookie(base_url: str, approver_token: str) -> str:
    with httpx.Client(base_url=base_url, timeout=10) as browser:
        form = browser.get("/dashboard/login")
        nonce = form.text.split('name="login_csrf" value="', 1)[1].split('"', 1)[0]
        signed = browser.post(
            "/dashboard/login",
            data={"token": approver_token, "login_csrf": nonce},
            headers={"Origin": base_url},
        )
        assert signed.status_code == 303, signed.text
        return browser.cookies[sessions.COOKIE]


def test_dashboard_on_one_process_hears_a_request_made_on_another(two_processes):
    first, second, env = two_processes
    org = create_org(env)
    path = f"/orgs/{org['org_id']}/api/v1"
    setup = LiveOrg(second + path, org["admin_token"], public_api=first + path)
    approver_token = setup.approver_with_jit_policy()
    agent = setup.agent_bearer()
    cookie = dashboard_cookie(first, approver_token)

    ws_url = first.replace("http", "ws", 1) + "/dashboard/ws"
    headers = {"Cookie": f"{sessions.COOKIE}={cookie}"}
    with connect(ws_url, origin=first, additional_headers=headers, open_timeout=10) as ws:
        created = setup.post(
            "/jit/requests",
            {"permission": PERMISSION, "justification": "Refund order 1234", "expires_in": 600},
            agent,
        )
        event = json.loads(ws.recv(timeout=10))
    assert event == {
        "type": "request.created",
        "request_id": created["request_id"],
        "status": "pending",
    }

"""Start a real jitgate server (uvicorn in a subprocess) with its own database, and an org."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    base_url: str
    org_id: str
    admin_token: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def env(self) -> dict[str, str]:
        """What a test in another virtual environment needs to reach this server."""
        return {
            "JITGATE_TEST_URL": self.base_url,
            "JITGATE_TEST_ORG": self.org_id,
            "JITGATE_TEST_ADMIN_TOKEN": self.admin_token,
        }


# How long a server process may take to answer /healthz: an import and the migrations take a few
# seconds, but many times that when the suite's workers (pytest -n) and other jobs share two
# cores. A bound for a server that never comes up, not a measure of start-up speed.
STARTUP_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(workdir: Path, port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
    env.update(
        {
            "JITGATE_DATABASE_URL": f"sqlite:///{workdir}/jitgate.db",
            "JITGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "JITGATE_SECRET_KEY": "sdk-tests-secret-0123456789abcdef",
            "JITGATE_ENV": "test",
            "PYTHONPATH": str(REPO),
            **(extra or {}),
        }
    )
    return env


def start_server(
    python: str = sys.executable,
    workdir: Path | None = None,
    timeout: float = STARTUP_SECONDS,
    extra_env: dict[str, str] | None = None,
) -> LiveServer:
    workdir = workdir or Path(tempfile.mkdtemp(prefix="jitgate-live-"))
    port = free_port()
    env = server_env(workdir, port, extra_env)
    log_path = workdir / "server.log"
    process = _launch(python, port, env, log_path)
    base_url = f"http://127.0.0.1:{port}"
    _wait_healthy(base_url, process, log_path, timeout)
    made = subprocess.run(
        [python, "-c", "from app.cli import main; main()", "orgs", "create", "SDK Tests", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if made.returncode != 0:
        process.terminate()
        raise RuntimeError(f"orgs create failed: {made.stderr.strip() or made.stdout.strip()}")
    org = json.loads(made.stdout.strip().splitlines()[-1])
    return LiveServer(base_url, org["org_id"], org["admin_token"], process, log_path)


def restart_server(
    server: LiveServer, workdir: Path, extra_env: dict[str, str] | None = None
) -> LiveServer:
    """Stop the server gracefully (SIGTERM) and start a new process on the same port and
    database, as a deployment restarts one: whatever it kept only in memory is gone."""
    server.stop()
    port = int(server.base_url.rsplit(":", 1)[1])
    log_path = workdir / "restarted.log"
    process = _launch(sys.executable, port, server_env(workdir, port, extra_env), log_path)
    _wait_healthy(server.base_url, process, log_path, STARTUP_SECONDS)
    return LiveServer(server.base_url, server.org_id, server.admin_token, process, log_path)


def _launch(python: str, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    cmd = [
        python,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_healthy(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"server did not become healthy: {log_path.read_text()[-2000:]}")


if __name__ == "__main__":
    # Used by scripts/test_adapters.py: start, print the coordinates, serve until stdin closes.
    server = start_server()
    print(json.dumps({**server.env(), "pid": server.process.pid}), flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()

"""Distributed-mode smoke test of an installed jitgate: the Procfile's web, worker and beat.

CI runs it from a fresh virtual environment holding only `pip install .` (no extras), so an
import that only the test dependencies satisfied fails here, as it would for a user. Steps:

1. start the Procfile's three processes, exactly as written (the web's 0.0.0.0 becomes
   127.0.0.1: nothing here listens beyond loopback), from a scratch directory so the
   installed package is what runs, all sharing one Redis database and one SQLite file;
2. an org (CLI), an approver, a JIT policy announcing on a webhook, an agent (HTTP API);
3. the agent asks for a JIT permission; the worker announces it (the webhook arrives);
4. the agent long-polls; an approver approves; the long-poll returns the token;
5. the token is consumed once, and refused the second time;
6. the worker shows the outcome (webhook), and beat's sweep runs on the worker.

Usage: python scripts/smoke_distributed.py [--redis-url redis://127.0.0.1:6379/12]
Exit status 0 when every step held; otherwise the failing step and the processes' logs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import redis

from jitgate import SyncAgentAuth, TokenAlreadyUsed, generate_key

ROOT = Path(__file__).resolve().parents[1]
PERMISSION = "payments.authorize"
OPERATION = {"invoice": "INV-7", "amount": 250, "currency": "EUR"}
STEP_TIMEOUT = 60.0


class SmokeFailed(RuntimeError):
    pass


def say(line: str) -> None:
    print(line, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Any, timeout: float = STEP_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise SmokeFailed(f"timed out after {timeout:.0f}s waiting for {what}")


class Receiver:
    """A webhook receiver on loopback that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, request_id: str) -> list[str]:
        return [
            str(body.get("event"))
            for body in self.bodies
            if body.get("request_id") == request_id
            or (body.get("request") or {}).get("request_id") == request_id
        ]


class Processes:
    """The Procfile's processes, started as a process manager would start them."""

    def __init__(self, procfile: Path, workdir: Path, env: dict[str, str]) -> None:
        self.commands = dict(
            line.split(":", 1) for line in procfile.read_text().splitlines() if ":" in line
        )
        self.workdir, self.env = workdir, env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        command = self.commands[name].strip().replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        command = command.replace("/tmp/jitgate-beat-schedule", str(self.workdir / "beat"))
        say(f"   $ {command}")
        with self.log(name).open("wb") as out:
            self.running[name] = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def output(self, name: str) -> str:
        path = self.log(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def alive(self, name: str) -> bool:
        if self.running[name].poll() is not None:
            raise SmokeFailed(f"the {name} process exited:\n{self.output(name)[-4000:]}")
        return True

    def stop(self) -> None:
        for popen in self.running.values():
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        for popen in self.running.values():
            try:
                popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)


def settings_env(workdir: Path, port: int, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
    env.pop("PYTHONPATH", None)  # the installed package, not the checkout
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PORT=str(port),
        JITGATE_ENV="production",
        JITGATE_REDIS_URL=redis_url,
        JITGATE_DATABASE_URL=f"sqlite:///{workdir}/jitgate.db",
        JITGATE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        JITGATE_SECRET_KEY=secrets.token_urlsafe(32),
        JITGATE_ALLOW_PRIVATE_URLS="true",  # the webhook receiver is on loopback
        JITGATE_SWEEP_SECONDS="1",
    )
    return env


def check_installed(env: dict[str, str], workdir: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import app, workers; print(app.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    say(f"   app imported from {where}")
    if Path(where).resolve().is_relative_to(ROOT) and not os.environ.get("SMOKE_ALLOW_CHECKOUT"):
        raise SmokeFailed("the checkout, not an installed package, would run: use `pip install .`")


def create_org(env: dict[str, str], workdir: Path) -> dict[str, str]:
    done = subprocess.run(
        ["jitgate", "orgs", "create", f"Smoke {secrets.token_hex(3)}", "--json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise SmokeFailed(f"jitgate orgs create failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


class Api:
    def __init__(self, base: str, org_id: str, admin_token: str) -> None:
        self.base = f"{base}/orgs/{org_id}/api/v1"
        self.http = httpx.Client(timeout=30)
        self.admin = admin_token

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or self.admin}"}
        answer = self.http.request(method, f"{self.base}/{path}", headers=headers, **kw)
        if answer.status_code >= 400:
            raise SmokeFailed(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()


def set_up(api: Api, receiver: Receiver) -> tuple[dict[str, Any], dict[str, Any], str]:
    approver = api.call("POST", "approvers", json={"email": "approver@smoke.example"})
    policy = {
        "permission": PERMISSION,
        "mode": "jit",
        "approvers": [approver["approver_id"]],
        "channels": ["webhook", "log"],
        "webhook_url": receiver.url,
    }
    api.call("POST", "policies", json=policy)
    pem, jwks = generate_key()
    agent = api.call(
        "POST",
        "agents/register",
        json={
            "name": "smoke-agent",
            "capabilities": ["document.read", PERMISSION],
            "jwks": jwks,
            "owner": "owner@smoke.example",
        },
    )
    return approver, agent, pem


def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="jitgate-smoke-"))
    port = free_port()
    env = settings_env(workdir, port, args.redis_url)
    base = f"http://127.0.0.1:{port}"
    redis.Redis.from_url(args.redis_url).flushdb()
    procs = Processes(args.procfile, workdir, env)
    try:
        say("1. the Procfile's processes, from the installed package, until /readyz says ready")
        check_installed(env, workdir)
        procs.start("web")
        wait_for("the web process", lambda: procs.alive("web") and _healthy(base))
        for name in procs.commands:
            if name != "web":
                procs.start(name)  # worker, deliveries, beat: whatever the Procfile declares
        for name in procs.commands:
            if "celery" in procs.commands[name] and " worker " in procs.commands[name]:
                wait_for(name, lambda n=name: procs.alive(n) and "ready." in procs.output(n))
        wait_for("/readyz", lambda: _ready(base))
        steps(base, env, workdir, procs)
    except Exception:
        for name in procs.running:
            say(f"--- {name} log (last 3000 characters) ---\n{procs.output(name)[-3000:]}")
        raise
    finally:
        procs.stop()
        if args.keep:
            say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def steps(base: str, env: dict[str, str], workdir: Path, procs: Processes) -> None:
    say("2. org (CLI), approver, JIT policy with a webhook, agent")
    org = create_org(env, workdir)
    receiver = Receiver()
    api = Api(base, org["org_id"], org["admin_token"])
    approver, agent, pem = set_up(api, receiver)
    auth = SyncAgentAuth(base, org["org_id"], agent["agent_id"], pem)

    say("3. JIT request; the worker announces it")
    pending = auth.request_jit_permission(PERMISSION, "smoke test", "5m", OPERATION, wait=False)
    request_id = pending.request_id
    wait_for("the announcement", lambda: "jit_request.pending" in receiver.events(request_id))
    say(f"   {request_id}: announced by the worker")

    say("4. long-poll while an approver approves")
    result: dict[str, Any] = {}
    waiter = threading.Thread(
        target=lambda: result.update(approval=auth.wait_for_approval(request_id, timeout=45))
    )
    waiter.start()
    time.sleep(1.0)
    api.call("POST", f"jit/requests/{request_id}/approve", token=approver["api_token"], json={})
    waiter.join(60)
    approval = result.get("approval")
    if approval is None or not approval.token:
        raise SmokeFailed(f"the long-poll did not return a token: {approval}")
    say(f"   the waiting agent got its token (status {approval.status})")

    say("5. the token is consumed once")
    used = auth.consume_jit_token(approval.token, PERMISSION, OPERATION)
    if not used.get("valid"):
        raise SmokeFailed(f"first consume refused: {used}")
    try:
        auth.consume_jit_token(approval.token, PERMISSION, OPERATION)
    except TokenAlreadyUsed:
        say("   first use valid, second refused (409 token_already_used)")
    else:
        raise SmokeFailed("the second consume was accepted")

    say("6. the worker shows the outcome; beat's sweep runs on the worker")
    try:
        wait_for("the outcome", lambda: "jit_request.approved" in receiver.events(request_id))
    except SmokeFailed:
        say(f"   the webhook receiver got: {json.dumps(receiver.bodies)[:3000]}")
        raise
    wait_for("a sweep", lambda: procs.alive("beat") and "jitgate.sweep" in procs.output("worker"))
    say("smoke test passed: web, worker and beat work from a plain install")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--procfile", type=Path, default=ROOT / "Procfile")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    try:
        run(args)
    except SmokeFailed as failure:
        say(f"SMOKE TEST FAILED: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`jitgate mcp-proxy` (the CLI, in its own process) fronting an unmodified MCP server written
with the `mcp` package, over stdio and over streamable HTTP, driven by a real MCP client."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.mcp.conftest import TOOLS, approve_when_pending, mcp_session, token_for
from tests.sdk.live_server import REPO, free_port

pytestmark = pytest.mark.anyio
UPSTREAM = REPO / "tests" / "mcp" / "upstream_server.py"
JITGATE = Path(sys.executable).with_name("jitgate")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Proxy:
    url: str
    runs: Path
    process: subprocess.Popen
    log: Path

    @property
    def resource_uri(self) -> str:
        return self.url

    def ran(self) -> list[tuple[str, dict]]:
        if not self.runs.exists():
            return []
        lines = self.runs.read_text().splitlines()
        return [(r["tool"], r["arguments"]) for r in map(json.loads, lines)]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _proxy_env(admin_token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
    if admin_token is not None:
        env["JITGATE_ADMIN_TOKEN"] = admin_token
    return env


def start_proxy(jitgate_server, admin, workdir: Path, upstream: list[str], runs: Path) -> Proxy:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    body = {"name": f"proxied {port}", "resource_uri": url, "tools": TOOLS}
    admin.call("POST", "resources", json=body)
    log = workdir / f"proxy-{port}.log"
    cmd = [str(JITGATE), "mcp-proxy", "--org", jitgate_server.org_id, "--resource", url]
    cmd += [*upstream, "--port", str(port), "--jitgate-url", jitgate_server.base_url]
    with log.open("w") as out:
        process = subprocess.Popen(
            cmd, env=_proxy_env(jitgate_server.admin_token), stdout=out, stderr=out, cwd=workdir
        )
    proxy = Proxy(url, runs, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            metadata = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource"
            if httpx.get(metadata, timeout=2).status_code == 200:
                return proxy
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proxy.stop()
    raise AssertionError(f"the proxy did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def stdio_proxy(jitgate_server, admin, tmp_path_factory) -> Iterator[Proxy]:
    workdir = tmp_path_factory.mktemp("proxy-stdio")
    runs = workdir / "runs.jsonl"
    command = shlex.join([sys.executable, str(UPSTREAM), str(runs)])
    proxy = start_proxy(jitgate_server, admin, workdir, ["--upstream-command", command], runs)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def http_proxy(jitgate_server, admin, tmp_path_factory) -> Iterator[Proxy]:
    workdir = tmp_path_factory.mktemp("proxy-http")
    runs, port = workdir / "runs.jsonl", free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(UPSTREAM), str(runs), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    upstream_url = f"http://127.0.0.1:{port}/mcp"
    # Listening before the proxy's port is chosen: free_port() could otherwise hand the proxy
    # this same port (in one CI run the proxy was started as its own upstream and failed).
    _wait_listening(port, upstream)
    proxy = start_proxy(jitgate_server, admin, workdir, ["--upstream-url", upstream_url], runs)
    yield proxy
    proxy.stop()
    upstream.terminate()
    upstream.wait(timeout=15)


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the upstream MCP server did not listen on {port}")


def _text(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def _tool_calls(admin, agent, proxy: Proxy) -> list[dict]:
    params = {"actor": agent.agent_id, "action": "mcp.tool_call", "limit": 200}
    events = admin.call("GET", "audit", params=params)["items"]
    return [e for e in events if e["details"]["resource_uri"] == proxy.resource_uri]


def _requests_so_far(admin, agent) -> list[str]:
    params = {"actor": agent.agent_id, "action": "jit.request", "limit": 200}
    return [e["target"] for e in admin.call("GET", "audit", params=params)["items"]]


@pytest.mark.parametrize("which", ["stdio_proxy", "http_proxy"])
async def test_a_permitted_tool_runs_through_the_proxy_and_is_audited(
    jitgate_server, admin, agent, request, which
):
    proxy: Proxy = request.getfixturevalue(which)
    # Given a token for the proxy's resource holding document.read,
    token = token_for(jitgate_server, agent, proxy.resource_uri)
    async with mcp_session(proxy.url, token) as session:
        # when the client lists the tools and calls the standing one,
        listed = {t.name: t for t in (await session.list_tools()).tools}
        result = await session.call_tool("get_balance", {"account": "ACC-P"})
    # then the upstream ran it once, the JIT tool is marked and the unmapped one hidden,
    assert not result.is_error, _text(result)
    assert _text(result) == "ACC-P: 100 EUR"
    assert proxy.ran().count(("get_balance", {"account": "ACC-P"})) == 1
    assert set(listed) == {"get_balance", "pay_invoice"}
    assert listed["pay_invoice"].meta["io.jitgate/approval"] == "required"
    # and the audit trail has the call, as the agent's, with its outcome.
    events = [e for e in _tool_calls(admin, agent, proxy) if e["details"]["tool"] == "get_balance"]
    assert events and events[0]["outcome"] == "success"


@pytest.mark.parametrize("which", ["stdio_proxy", "http_proxy"])
async def test_a_forbidden_tool_is_refused_and_never_reaches_the_upstream(
    jitgate_server, admin, agent, request, which
):
    proxy: Proxy = request.getfixturevalue(which)
    token = token_for(jitgate_server, agent, proxy.resource_uri)
    async with mcp_session(proxy.url, token) as session:
        result = await session.call_tool("drop_tables", {})
    assert result.is_error and "not permitted" in _text(result)
    assert all(tool != "drop_tables" for tool, _ in proxy.ran())
    events = [e for e in _tool_calls(admin, agent, proxy) if e["details"]["tool"] == "drop_tables"]
    assert events and events[0]["outcome"] == "refused"


async def test_a_token_for_another_resource_is_refused_with_the_metadata_header(
    jitgate_server, admin, agent, stdio_proxy, http_proxy
):
    # Given a token for another protected server (the HTTP-fronting proxy),
    token = token_for(jitgate_server, agent, http_proxy.resource_uri)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    # when it is presented to the stdio proxy, it is 401 with the metadata pointer,
    resp = httpx.post(stdio_proxy.url, json=body, headers=headers)
    assert resp.status_code == 401
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    # and the document it points to (and the root one) name this proxy and jitgate.
    pointed = httpx.get(challenge.split('resource_metadata="')[1].split('"')[0]).json()
    root = httpx.get(stdio_proxy.url.replace("/mcp", "/.well-known/oauth-protected-resource"))
    issuer = f"{jitgate_server.base_url}/orgs/{jitgate_server.org_id}"
    for document in (pointed, root.json()):
        assert document["resource"] == stdio_proxy.resource_uri
        assert document["authorization_servers"] == [issuer]
    assert root.json()["scopes_supported"] == ["document.read", "payments.authorize"]
    # No token at all is the same 401.
    assert httpx.post(stdio_proxy.url, json=body).status_code == 401


async def test_a_jit_tool_waits_for_approval_runs_once_and_a_replay_needs_a_new_approval(
    jitgate_server, admin, agent, stdio_proxy
):
    token = token_for(jitgate_server, agent, stdio_proxy.resource_uri)
    arguments = {"invoice": "INV-P1", "amount": 70}
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    found = _requests_so_far(admin, agent)
    approver = approve_when_pending(admin, agent, found)
    async with mcp_session(stdio_proxy.url, token) as session:
        # When the client calls the JIT tool, the call waits for the approval, then runs once,
        result = await session.call_tool("pay_invoice", arguments, progress_callback=on_progress)
        approver.join(timeout=60)
        assert not result.is_error, _text(result)
        assert stdio_proxy.ran().count(("pay_invoice", arguments)) == 1
        assert progress, "no progress notification while waiting"
        approved = found[-1]
        request = admin.call("GET", f"jit/requests/{approved}")
        assert request["status"] == "consumed"
        assert request["operation"] == {"tool": "pay_invoice", "arguments": arguments}
        # and the same call again is a new request (denied here): the approval is spent.
        denier = approve_when_pending(admin, agent, found, verb="deny")
        again = await session.call_tool("pay_invoice", arguments)
        denier.join(timeout=60)
    assert again.is_error and f"JIT request {found[-1]} was denied" in _text(again)
    assert found[-1] != approved
    assert stdio_proxy.ran().count(("pay_invoice", arguments)) == 1


async def test_an_approval_is_for_its_arguments_only(jitgate_server, admin, agent, stdio_proxy):
    token = token_for(jitgate_server, agent, stdio_proxy.resource_uri)
    arguments, other = {"invoice": "INV-P2", "amount": 5}, {"invoice": "INV-P2", "amount": 500}
    found = _requests_so_far(admin, agent)
    async with mcp_session(stdio_proxy.url, token) as session:
        approver = approve_when_pending(admin, agent, found)
        first = await session.call_tool("pay_invoice", arguments)
        approver.join(timeout=60)
        assert not first.is_error, _text(first)
        # Other arguments are another operation: their own request, denied, and no run.
        denier = approve_when_pending(admin, agent, found, verb="deny")
        second = await session.call_tool("pay_invoice", other)
        denier.join(timeout=60)
    assert second.is_error and "denied" in _text(second)
    assert admin.call("GET", f"jit/requests/{found[-1]}")["operation"]["arguments"] == other
    assert ("pay_invoice", other) not in stdio_proxy.ran()
    outcomes = {
        (e["details"]["arguments"]["amount"], e["outcome"])
        for e in _tool_calls(admin, agent, stdio_proxy)
        if e["details"]["tool"] == "pay_invoice"
        and e["details"]["arguments"]["invoice"] == "INV-P2"
    }
    assert outcomes == {(5, "success"), (500, "refused")}


def _cli(*args: str, admin_token: str | None = "jgadm_x", block_mcp: bool = False):
    prelude = ""
    if block_mcp:  # as if `pip install jitgate` without the [mcp] extra
        prelude = "import sys; sys.modules['mcp'] = None; sys.modules['mcp_types'] = None; "
    code = prelude + "from app.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "mcp-proxy", *args],
        env=_proxy_env(admin_token),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_the_cli_names_the_missing_extra_without_mcp():
    done = _cli("--org", "o", "--resource", "https://t.example/mcp", "--upstream-url",
                "https://u.example/mcp", block_mcp=True)  # fmt: skip
    assert done.returncode == 1
    assert "pip install 'jitgate[mcp]'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "admin_token", "says"),
    [
        (["--upstream-url", "https://u.example/mcp"], None, "JITGATE_ADMIN_TOKEN"),
        ([], "jgadm_x", "exactly one upstream"),
        (["--upstream-url", "u", "--upstream-command", "x"], "jgadm_x", "exactly one upstream"),
        (["--upstream-url", "ftp://u.example/mcp"], "jgadm_x", "http(s)"),
        (["--upstream-url", "https://u", "--upstream-header", "nocolon"], "jgadm_x", "Name: value"),
    ],
)
def test_the_cli_refuses_an_unusable_configuration(args, admin_token, says):
    done = _cli("--org", "o", "--resource", "https://t.example/mcp", *args, admin_token=admin_token)
    assert done.returncode == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_behind_a_reverse_proxy_the_public_host_is_accepted_and_others_are_not(
    jitgate_server, admin, agent, tmp_path
):
    from jitgate.mcp.gate import McpGate
    from jitgate.mcp.proxy import Upstream, build_app
    from tests.mcp.conftest import serve

    # Given the proxy on loopback for the public URI https://tools.example/mcp (TLS ends at a
    # reverse proxy that forwards Host: tools.example),
    public = "https://tools.example/mcp"
    admin.call("POST", "resources", json={"name": "public", "resource_uri": public,
                                          "tools": TOOLS})  # fmt: skip
    gate = McpGate(jitgate_url=jitgate_server.base_url, org_id=jitgate_server.org_id,
                   resource_uri=public, admin_token=jitgate_server.admin_token)  # fmt: skip
    command = shlex.join([sys.executable, str(UPSTREAM), str(tmp_path / "runs.jsonl")])
    port = free_port()
    running = serve(build_app(gate, Upstream(command=command)), port)
    try:
        token = token_for(jitgate_server, agent, public)
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
        headers = {"Authorization": f"Bearer {token}",
                   "Accept": "application/json, text/event-stream"}  # fmt: skip
        url = f"http://127.0.0.1:{port}/mcp"
        # when a request names the public host, it is served; another host is refused.
        ok = httpx.post(url, json=body, headers={**headers, "Host": "tools.example"})
        rebound = httpx.post(url, json=body, headers={**headers, "Host": "evil.example"})
    finally:
        running.should_exit = True
    assert ok.status_code == 200, ok.text
    assert rebound.status_code == 421

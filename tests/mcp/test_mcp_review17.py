"""Review 17 regressions: the proxy driven with raw JSON-RPC over streamable HTTP. Nothing
unchecked reaches the upstream; a call whose arguments cannot be recorded (not I-JSON, too
deep, over the size cap) is refused before it runs and audited as refused; a suspended agent's
token stops at the proxy; one caller cannot hold more than 10 approval waits at once."""

from __future__ import annotations

import json
import shlex
import sys

import httpx
import pytest

from tests.mcp.conftest import TOOLS, serve, token_for
from tests.sdk.live_server import REPO, free_port

UPSTREAM = REPO / "tests" / "mcp" / "upstream_server.py"
ACCEPT = "application/json, text/event-stream"


def _messages(resp: httpx.Response) -> list:
    if resp.headers.get("content-type", "").startswith("application/json"):
        body = resp.json()
        return body if isinstance(body, list) else [body]
    return [json.loads(x[5:]) for x in resp.text.splitlines() if x.startswith("data:")]


class Raw:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "rev17", "version": "1"}}}  # fmt: skip
        resp = httpx.post(url, json=init, headers=self.headers, timeout=60)
        assert resp.status_code == 200, resp.text
        if sid := resp.headers.get("mcp-session-id"):
            self.headers["mcp-session-id"] = sid
        self.headers["mcp-protocol-version"] = "2025-06-18"
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        httpx.post(url, json=note, headers=self.headers, timeout=60)

    def send(self, payload, timeout: float = 120) -> tuple[int, list]:
        resp = httpx.post(self.url, json=payload, headers=self.headers, timeout=timeout)
        return resp.status_code, (_messages(resp) if resp.status_code == 200 else [resp.text])


@pytest.fixture(scope="module")
def proxy(jitgate_server, admin, tmp_path_factory):
    from jitgate.mcp.gate import McpGate
    from jitgate.mcp.proxy import Upstream, build_app

    workdir = tmp_path_factory.mktemp("rev17")
    runs = workdir / "runs.jsonl"
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    admin.call("POST", "resources", json={"name": "rev17", "resource_uri": url, "tools": TOOLS})
    gate = McpGate(
        jitgate_url=jitgate_server.base_url,
        org_id=jitgate_server.org_id,
        resource_uri=url,
        admin_token=jitgate_server.admin_token,
        jit_wait=3,
        active_cache_seconds=0,
    )  # liveness asked on every request here
    command = shlex.join([sys.executable, str(UPSTREAM), str(runs)])
    running = serve(build_app(gate, Upstream(command=command)), port)
    yield url, runs
    running.should_exit = True


def _ran(runs) -> list[str]:
    if not runs.exists():
        return []
    return [json.loads(line)["tool"] for line in runs.read_text().splitlines()]


CALL = {"name": "drop_tables", "arguments": {}}


@pytest.mark.parametrize(
    "payload",
    [
        [{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": CALL}],  # batch
        {"jsonrpc": "2.0", "id": 2, "method": "Tools/Call", "params": CALL},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call ", "params": CALL},
        {"jsonrpc": "2.0", "method": "tools/call", "params": CALL},  # a notification
        {"jsonrpc": "2.0", "id": 4, "method": "resources/list"},
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "resources/read",
            "params": {"uri": "file:///etc/passwd"},
        },
        {"jsonrpc": "2.0", "id": 6, "method": "prompts/get", "params": {"name": "x"}},
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "drop_tables", "arguments": {}, "name ": "get_balance"},
        },
        {
            "jsonrpc": "2.0",
            "id": 8,
            "method": "tools/call",
            "params": {
                "name": "pay_invoice",
                "arguments": {"invoice": "I", "amount": 1},
                "task": {"ttl": 1000},
            },
        },
    ],
)
def test_nothing_unchecked_reaches_the_upstream(jitgate_server, agent, proxy, payload):
    url, runs = proxy
    raw = Raw(url, token_for(jitgate_server, agent, url))
    status, messages = raw.send(payload)
    print(status, messages)
    assert "drop_tables" not in _ran(runs)
    assert "pay_invoice" not in _ran(runs)


def _ran_arguments(runs) -> list[dict]:
    if not runs.exists():
        return []
    return [json.loads(line)["arguments"] for line in runs.read_text().splitlines()]


def _audited(admin, agent, url: str) -> list:
    params = {"actor": agent.agent_id, "action": "mcp.tool_call", "limit": 200}
    events = admin.call("GET", "audit", params=params)["items"]
    return [e for e in events if e["details"]["resource_uri"] == url]


def _deep(levels: int) -> dict:
    deep: dict = {}
    cur = deep
    for _ in range(levels):
        cur["n"] = {}
        cur = cur["n"]
    return deep


@pytest.mark.parametrize(
    ("account", "extra", "why"),
    [
        ("ACC-BIG", 2**53 + 1, "integer beyond"),
        ("ACC-DEEP", _deep(12), "nest deeper"),
        ("ACC-HUGE", {f"k{i}": "v" * 10 for i in range(5000)}, "larger than 65536"),
    ],
)
def test_a_call_whose_arguments_cannot_be_recorded_is_refused_and_audited(
    jitgate_server, admin, agent, proxy, account, extra, why
):
    # A standing tool the caller may run, with an extra argument the upstream would ignore.
    url, runs = proxy
    raw = Raw(url, token_for(jitgate_server, agent, url))
    payload = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "get_balance", "arguments": {"account": account, "x": extra}}}  # fmt: skip
    status, messages = raw.send(payload)
    result = messages[-1]["result"]
    assert status == 200 and result.get("isError"), messages
    assert why in result["content"][0]["text"]
    assert {"account": account} not in _ran_arguments(runs)
    mine = [e for e in _audited(admin, agent, url) if why in e["reason"]]
    assert len(mine) == 1, mine
    assert mine[0]["outcome"] == "refused"
    assert "operation_hash" not in mine[0]["details"] and "arguments" not in mine[0]["details"]


def test_a_suspended_agent_no_longer_runs_standing_tools_at_the_proxy(jitgate_server, admin, proxy):
    from jitgate.demo import setup_agent

    url, runs = proxy
    victim = setup_agent(admin, capabilities=["document.read"], jit_permissions=())
    raw = Raw(url, token_for(jitgate_server, victim, url))

    def call(account: str) -> int:
        payload = {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {
            "name": "get_balance", "arguments": {"account": account}}}  # fmt: skip
        return raw.send(payload)[0]

    # While the agent is active its standing tool runs,
    assert call("ACC-ACTIVE") == 200
    assert {"account": "ACC-ACTIVE"} in _ran_arguments(runs)
    # then the admin suspends it: DESIGN says a standing tool runs only "when the caller's
    # token holds its permission and the agent is active" (the gate introspects by default).
    admin.call("PATCH", f"agents/{victim.agent_id}", json={"status": "suspended"})
    assert call("ACC-SUSPENDED") == 401
    assert {"account": "ACC-SUSPENDED"} not in _ran_arguments(runs)


def test_one_caller_holds_at_most_ten_approval_waits(jitgate_server, admin, agent, tmp_path):
    import threading
    import time

    from jitgate.demo import setup_agent
    from jitgate.mcp.gate import MAX_JIT_WAITS_PER_CALLER, McpGate
    from jitgate.mcp.proxy import Upstream, build_app

    runs, port = tmp_path / "runs.jsonl", free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    admin.call("POST", "resources", json={"name": "rev17-f5", "resource_uri": url, "tools": TOOLS})
    gate = McpGate(jitgate_url=jitgate_server.base_url, org_id=jitgate_server.org_id,
                   resource_uri=url, admin_token=jitgate_server.admin_token, jit_wait=60)  # fmt: skip
    command = shlex.join([sys.executable, str(UPSTREAM), str(runs)])
    running = serve(build_app(gate, Upstream(command=command)), port)
    try:
        noisy = Raw(url, token_for(jitgate_server, agent, url))
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "pay_invoice", "arguments": {"invoice": "INV-F5", "amount": 1}}}  # fmt: skip
        for _ in range(MAX_JIT_WAITS_PER_CALLER):  # daemon threads: not joined (60 s waits)
            threading.Thread(target=noisy.send, args=(call, 90), daemon=True).start()
        for _ in range(600):  # until all ten are waiting for a human
            if sum(gate._jit_waits.values()) == MAX_JIT_WAITS_PER_CALLER:
                break
            time.sleep(0.1)
        assert sum(gate._jit_waits.values()) == MAX_JIT_WAITS_PER_CALLER
        # The same caller's eleventh is refused at once, with a clear tool error,
        status, messages = noisy.send(call)
        result = messages[-1]["result"]
        assert status == 200 and result["isError"], messages
        assert "too many approval waits" in result["content"][0]["text"]
        # while another agent's standing call runs and is audited.
        other = setup_agent(admin, capabilities=["document.read"], jit_permissions=())
        quiet = Raw(url, token_for(jitgate_server, other, url))
        status, messages = quiet.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "get_balance", "arguments": {"account": "ACC-QUIET"}}})  # fmt: skip
        assert status == 200 and not messages[-1]["result"].get("isError"), messages
        assert [e["outcome"] for e in _audited(admin, other, url)] == ["success"]
    finally:
        running.should_exit = True


def test_the_jit_idempotency_key_names_the_resource():
    from types import SimpleNamespace

    from mcp.server.auth.provider import AccessToken

    from jitgate.mcp.rules import JitCall

    token = AccessToken(token="t", client_id="agent-1", scopes=[], subject="agent-1")
    keys = {
        JitCall(
            SimpleNamespace(resource_uri=uri), None, token, "p", "pay", {"a": 1}
        ).idempotency_key(0)
        for uri in ("https://a.example/mcp", "https://b.example/mcp")
    }
    assert len(keys) == 2

"""What `jitgate mcp-proxy` adds to a standing tool call: the same MCP server called directly
and through the proxy (token check, tool map, forwarding, the audit report), one client session
each, calls in turn. Prints the median and 90th percentile milliseconds per call.

    python bench/bench_mcp_proxy.py            # 200 calls each
    python bench/bench_mcp_proxy.py -n 500
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jitgate import SyncAgentAuth  # noqa: E402
from jitgate.demo import Admin, setup_agent  # noqa: E402
from jitgate.mcp.gate import McpGate  # noqa: E402
from jitgate.mcp.proxy import Upstream, build_app  # noqa: E402
from tests.mcp.conftest import TOOLS, serve  # noqa: E402
from tests.sdk.live_server import free_port, start_server  # noqa: E402

UPSTREAM = REPO / "tests" / "mcp" / "upstream_server.py"


async def timed_calls(url: str, token: str | None, n: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        await session.call_tool("get_balance", {"account": "warm-up"})
        took = []
        for i in range(n):
            started = time.perf_counter()
            result = await session.call_tool("get_balance", {"account": f"A{i}"})
            took.append((time.perf_counter() - started) * 1000)
            assert not result.is_error
        return took


def wait_listening(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port}")


def summary(name: str, took: list[float]) -> str:
    p90 = statistics.quantiles(took, n=10)[-1]
    return f"{name:>8}: median {statistics.median(took):6.1f} ms, p90 {p90:6.1f} ms ({len(took)} calls)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    jitgate = start_server(workdir=work)
    upstream_port, proxy_port = free_port(), free_port()
    runs = work / "runs.jsonl"
    upstream = subprocess.Popen(
        [sys.executable, str(UPSTREAM), str(runs), "http", str(upstream_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        admin = Admin(jitgate.base_url, jitgate.org_id, jitgate.admin_token)
        resource = f"http://127.0.0.1:{proxy_port}/mcp"
        admin.call(
            "POST", "resources", json={"name": "b", "resource_uri": resource, "tools": TOOLS}
        )
        agent = setup_agent(admin, capabilities=["document.read"], jit_permissions=())
        gate = McpGate(jitgate_url=jitgate.base_url, org_id=jitgate.org_id,
                       resource_uri=resource, admin_token=jitgate.admin_token)  # fmt: skip
        upstream_url = f"http://127.0.0.1:{upstream_port}/mcp"
        wait_listening(upstream_port)
        running = serve(build_app(gate, Upstream(url=upstream_url)), proxy_port)
        auth = SyncAgentAuth(
            jitgate.base_url, jitgate.org_id, agent.agent_id, agent.private_key_pem
        )
        token = auth.get_access_token(resource=resource)
        direct = asyncio.run(timed_calls(upstream_url, None, args.n))
        proxied = asyncio.run(timed_calls(resource, token, args.n))
        print(summary("direct", direct))
        print(summary("proxied", proxied))
        running.should_exit = True
    finally:
        upstream.terminate()
        jitgate.stop()


if __name__ == "__main__":
    main()

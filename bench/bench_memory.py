"""Memory of one web process: under the check load, and holding many waiting agents.

One `jitgate serve` (embedded mode: the API, the worker threads and the event bus in one
process; a fresh SQLite file) on 127.0.0.1. It prints the process's VmRSS:

1. idle, after start-up and set-up;
2. under the check load: `wrk -t2 -c32` on `POST /authz/check` for `--seconds` (sampled every
   0.25 s; the maximum and the last sample); phase `ask-load` does the same on a process that
   has first answered one Ask question (`POST /agents/ask`), and so holds the WordNet extract;
3. holding `--waiters` long-polls (`GET /jit/requests/{id}?wait=60`), and (on another fresh
   process) as many SSE streams (`GET /jit/requests/{id}/events`), each on its own connection,
   all open at once. Every
   connection is checked to be waiting (no answer yet for a long-poll; the stream's first event
   for SSE) before the sample is taken, 5 s after the last one opened.

Targets: under the check load < 150 MiB; 10,000 waiting long-polls or SSE streams < 512 MiB.

    . .venv/bin/activate
    python bench/bench_memory.py                    # 20 s of load (twice), 10,000 waiters
    python bench/bench_memory.py --seconds 10 --waiters 2000
    python bench/bench_memory.py --phases sse --waiters 10000   # one phase only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests import factories  # noqa: E402

TARGET_LOAD_MIB, TARGET_WAITERS_MIB = 150, 512
PERMISSION = "payments.authorize"
PHASES = {
    "load": "load",
    "ask-load": "load after an Ask question",
    "long-polls": "long-polls",
    "sse": "SSE streams",
}
# A verb no hand list of the interpreter names: answering it reads WordNet.
ASK_QUESTION = "Could I peruse the documents of the finance team?"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "JITGATE_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "JITGATE_PUBLIC_URL": "http://testserver",  # what tests.factories signs assertions for
        "JITGATE_SECRET_KEY": "bench-" + os.urandom(16).hex(),
        # Limits too high ever to refuse (their cost is still paid); one agent opens everything.
        "JITGATE_AGENT_REQUESTS_PER_MINUTE": "1000000000",
        "JITGATE_ADDRESS_REQUESTS_PER_MINUTE": "1000000000",
        "JITGATE_AGENT_MAX_PENDING_JIT": "1000",
        "JITGATE_ACCESS_LOG": "false",
    }
    env.pop("JITGATE_REDIS_URL", None)
    jitgate = shutil.which("jitgate") or str(Path(sys.executable).parent / "jitgate")
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen(
        [jitgate, "serve", "--port", str(port)], cwd=tmp, env=env, stdout=log, stderr=log
    )
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url, env
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the server did not start; see {tmp / 'server.log'}")


def cli(env: dict[str, str], tmp: Path, *args: str) -> str:
    jitgate = shutil.which("jitgate") or str(Path(sys.executable).parent / "jitgate")
    return subprocess.run(
        [jitgate, *args], cwd=tmp, env=env, check=True, capture_output=True, text=True
    ).stdout


def check_load(pid: int, url: str, token: str, seconds: int) -> tuple[float, float]:
    script = REPO / "bench" / "wrk" / "post_bearer.lua"
    env = {**os.environ, "BENCH_TOKEN": token}
    wrk = subprocess.Popen(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", str(script), url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    samples = []
    while wrk.poll() is None:
        samples.append(rss_mib(pid))
        time.sleep(0.25)
    out = wrk.stdout.read() if wrk.stdout else ""
    rate = next((line for line in out.splitlines() if "Requests/sec" in line), "?")
    print(f"  wrk: {rate.strip()}")
    return max(samples), samples[-1]


async def hold(url: str, paths: list[str], bearer: str, sse: bool, settle: float, pid: int):
    """Open one connection per path, send the request, check each waits; sample RSS."""
    host, port = url.removeprefix("http://").split(":")
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    gate = asyncio.Semaphore(256)  # the listen backlog is finite: connect in waves

    async def one(path: str) -> None:
        async with gate:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\n"
                f"Accept: {'text/event-stream' if sse else 'application/json'}\r\n\r\n".encode()
            )
            await writer.drain()
            if sse:  # the stream answers at once with its headers and the current status
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
                assert head.startswith(b"HTTP/1.1 200"), head[:100]
            opened.append((reader, writer))

    started = time.monotonic()
    await asyncio.gather(*(one(p) for p in paths))
    await asyncio.sleep(settle)
    holding = rss_mib(pid)
    waiting = 0
    for reader, _ in opened:
        if sse:
            waiting += not reader.at_eof()
        else:  # a long-poll still waiting has not answered
            waiting += len(reader._buffer) == 0 and not reader.at_eof()  # noqa: SLF001
    for _, writer in opened:
        writer.close()
    return holding, waiting, time.monotonic() - started


async def waiters(url: str, pid: int, org, agent_bearer: str, count: int, sse: bool) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        body = {
            "permission": PERMISSION,
            "justification": "memory benchmark",
            "expires_in": "30m",
            "operation": {"n": 1},
        }
        resp = await client.post(
            f"{org.api}/jit/requests",
            json=body,
            headers={"Authorization": f"Bearer {agent_bearer}"},
        )
        resp.raise_for_status()
        request_id = resp.json()["request_id"]
    base = f"/orgs/{org.org_id}/api/v1/jit/requests/{request_id}"
    path = f"{base}/events" if sse else f"{base}?wait=60"
    before = rss_mib(pid)
    holding, waiting, took = await hold(url, [path] * count, agent_bearer, sse, 5.0, pid)
    kind = "SSE streams" if sse else "long-polls"
    print(
        f"  {count} {kind}: RSS {holding:.1f} MiB (+{holding - before:.1f} from {before:.1f}, "
        f"{(holding - before) * 1024 / count:.1f} KiB each); {waiting} of {count} waiting; "
        f"opened in {took - 5:.1f} s"
    )
    return holding


def prepared_server(tmp: Path) -> tuple[subprocess.Popen, str, factories.OrgHandle, str]:
    proc, url, env = start_server(tmp)
    org_json = json.loads(cli(env, tmp, "orgs", "create", "bench", "--json"))
    org = factories.OrgHandle(org_json["org_id"], org_json["admin_token"])
    with httpx.Client(base_url=url, timeout=30) as client:
        agent = factories.register_agent(client, org, capabilities=["document.read", PERMISSION])
        approver = client.post(
            f"{org.api}/approvers", json={"email": "bench@example.com"}, headers=org.admin
        ).json()
        factories.set_policy(
            client, org, PERMISSION, "jit", approvers=[approver["approver_id"]], channels=["log"]
        )
        token = agent.token(client)
    return proc, url, org, token


def ask_once(url: str, org: factories.OrgHandle, token: str) -> None:
    resp = httpx.post(
        f"{url}{org.api}/agents/ask",
        json={"question": ASK_QUESTION},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    resp.raise_for_status()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="check load duration")
    parser.add_argument("--waiters", type=int, default=10_000, help="connections held at once")
    parser.add_argument(
        "--phases",
        default="load,ask-load,long-polls,sse",
        help="which phases to run (comma separated)",
    )
    args = parser.parse_args()

    results: list[tuple[str, float, int]] = []
    chosen = set(args.phases.split(","))
    phases = [name for key, name in PHASES.items() if key in chosen]
    for phase in phases:  # each on a fresh process: RSS seldom shrinks once grown
        tmp = Path(tempfile.mkdtemp(prefix="jitgate-bench-memory-"))
        proc, url, org, token = prepared_server(tmp)
        try:
            idle = rss_mib(proc.pid)
            print(f"jitgate serve pid {proc.pid} (embedded mode, SQLite): idle RSS {idle:.1f} MiB")
            if phase == "load after an Ask question":
                ask_once(url, org, token)
                asked = rss_mib(proc.pid)
                print(f"  after one Ask question: RSS {asked:.1f} MiB (+{asked - idle:.1f})")
            if phase.startswith("load"):
                print(f"  check load: wrk -t2 -c32 -d{args.seconds}s POST /authz/check")
                peak, last = check_load(
                    proc.pid, f"{url}{org.api}/authz/check", token, args.seconds
                )
                print(f"  RSS max {peak:.1f} MiB, at the end {last:.1f} MiB")
                name = "RSS under the check load" + phase.removeprefix("load")
                results.append((name, peak, TARGET_LOAD_MIB))
            else:
                sse = phase == "SSE streams"
                held = asyncio.run(waiters(url, proc.pid, org, token, args.waiters, sse))
                results.append((f"RSS with {args.waiters} {phase}", held, TARGET_WAITERS_MIB))
        except BaseException:
            log = (tmp / "server.log").read_text(errors="replace").splitlines()
            print("server log (last lines):", *log[-30:], sep="\n", file=sys.stderr)
            raise
        finally:
            stop(proc)
            shutil.rmtree(tmp, ignore_errors=True)

    for name, value, target in results:
        print(f"{'PASS' if value < target else 'FAIL'}  {name} {value:.1f} MiB < {target} MiB")
    return 0 if all(v < t for _, v, t in results) else 1


if __name__ == "__main__":
    sys.exit(main())

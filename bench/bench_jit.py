"""JIT benchmark in Redis mode: one web process and one Celery worker on this machine's Redis.

What it measures (wall clock, the same machine for every timestamp):

1. request → notification: from sending `POST /jit/requests` to the notify task running, as
   the log channel's line in the worker's log stamps it (ms resolution), and, for reference, to
   the webhook channel's POST arriving at a local receiver (signed, delivered, acknowledged).
   Requests are made one after another, `--interval` apart.
2. decision → agent: the agent long-polls `GET /jit/requests/{id}?wait=60` on every pending
   request; the approver then approves them one by one; from sending the approve to the
   agent's long-poll returning with the token (approve + mint task + pub/sub + re-read).
3. requests created per second: `--concurrency` clients creating requests for `--seconds`.
4. memory: VmRSS of the web process idle (after the phases above), and 10 s into holding 1,000
   waiting long-polls (`?wait=20`, httpx.AsyncClient with 1,000 connections); all of them must
   come back `pending` after their full wait.

Targets: decision → agent p95 < 100 ms; request → notification p95 < 250 ms.

    . /work/venv/bin/activate
    python bench/bench_jit.py                      # SQLite file, Redis db 14
    python bench/bench_jit.py --database-url postgresql://postgres@127.0.0.1:5432/jitbench
    python bench/bench_jit.py --nice -5              # less noise on a busy shared machine
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests import factories  # noqa: E402
from tests.integration.receiver import WebhookReceiver  # noqa: E402
from tests.integration.stack import (  # noqa: E402
    DELIVERIES_QUEUE,
    Proc,
    Stack,
    redis_unreachable_reason,
)

PERMISSION = "payments.authorize"
TARGETS_MS = {"decision_to_agent_p95": 100.0, "request_to_notification_p95": 250.0}
# The log channel's announce line, as the worker's log format stamps it: jitgate's own
# ("2026-12-07 04:10:42,123 INFO notifiers.log: jit request …", app/core/logs.py) since workers
# log like the web process; Celery's ("[2026-… ,123: INFO/…] jit request …") before that.
ANNOUNCED = re.compile(
    r"^\[?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})[]: ].*?\bjit request (\S+) pending:"
)


def announced_at(worker: Proc) -> dict[str, float]:
    """request id → when the notify task logged its announcement (the worker's local time)."""
    found = {}
    for line in worker.output().splitlines():
        if m := ANNOUNCED.match(line):
            found[m.group(2)] = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(name: str, values_ms: list[float]) -> dict[str, float]:
    p50, p95 = pct(values_ms, 50), pct(values_ms, 95)
    print(
        f"{name:<28} n={len(values_ms):<5} p50={p50:7.1f} ms  p95={p95:7.1f} ms  "
        f"max={max(values_ms):7.1f} ms  mean={statistics.fmean(values_ms):7.1f} ms"
    )
    return {"p50": p50, "p95": p95}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Bench:
    def __init__(self, web_url: str, org: factories.OrgHandle, bearer: dict[str, str]) -> None:
        self.web_url, self.org, self.bearer = web_url, org, bearer
        self.approver: dict[str, str] = {}

    def body(self, i: int) -> dict[str, Any]:
        return {
            "permission": PERMISSION,
            "justification": f"bench payment {i}",
            "expires_in": "10m",
            "operation": {"invoice": f"INV-{i}", "amount": i},
        }

    async def create(self, client: httpx.AsyncClient, i: int) -> str:
        resp = await client.post(
            f"{self.org.api}/jit/requests", json=self.body(i), headers=self.bearer
        )
        assert resp.status_code == 202, resp.text
        return resp.json()["request_id"]


async def request_to_notification(
    bench: Bench, receiver: WebhookReceiver | None, worker: Proc, n: int, interval: float
) -> tuple[list[str], list[float], list[float]]:
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=bench.web_url, timeout=30) as client:
        for i in range(n):
            started = time.time()
            request_id = await bench.create(client, i)
            sent[request_id] = started
            await asyncio.sleep(interval)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = announced_at(worker)
        delivered = {d.request_id: d.at for d in receiver.distinct().values()} if receiver else {}
        if all(r in running and (receiver is None or r in delivered) for r in sent):
            break
        await asyncio.sleep(0.1)
    missing = [r for r in sent if r not in running or (receiver and r not in delivered)]
    assert not missing, f"{len(missing)} notifications never arrived"
    task_ms = [(running[r] - sent[r]) * 1000 for r in sent]
    webhook_ms = [(delivered[r] - sent[r]) * 1000 for r in sent if r in delivered]
    return list(sent), task_ms, webhook_ms


async def decision_to_agent(
    bench: Bench, request_ids: list[str], interval: float
) -> tuple[list[float], list[float]]:
    """From sending each approve to its waiting agent's answer; and to the approve's own answer
    (the decision's transaction: what of the first is the database's, what the wake-up's)."""
    limits = httpx.Limits(max_connections=len(request_ids) + 10)
    answered: dict[str, float] = {}
    approved: dict[str, float] = {}
    decided: dict[str, float] = {}

    async def wait(client: httpx.AsyncClient, request_id: str) -> None:
        url = f"{bench.org.api}/jit/requests/{request_id}"
        resp = await client.get(url, params={"wait": 60}, headers=bench.bearer)
        answered[request_id] = time.time()
        assert "token" in resp.json(), resp.text

    async with (
        httpx.AsyncClient(base_url=bench.web_url, timeout=90, limits=limits) as agents,
        httpx.AsyncClient(base_url=bench.web_url, timeout=30) as approver,
    ):
        waiters = [asyncio.create_task(wait(agents, r)) for r in request_ids]
        await asyncio.sleep(2.0)  # every agent is parked in its long-poll
        for request_id in request_ids:
            approved[request_id] = time.time()
            resp = await approver.post(
                f"{bench.org.api}/jit/requests/{request_id}/approve",
                json={},
                headers=bench.approver,
            )
            decided[request_id] = time.time()
            assert resp.status_code == 200, resp.text
            await asyncio.sleep(interval)
        await asyncio.gather(*waiters)
    to_agent = [(answered[r] - approved[r]) * 1000 for r in request_ids]
    return to_agent, [(decided[r] - approved[r]) * 1000 for r in request_ids]


async def creation_rate(bench: Bench, concurrency: int, seconds: float) -> tuple[float, list[str]]:
    created: list[str] = []
    stop = time.monotonic() + seconds

    async def client_loop(client: httpx.AsyncClient, k: int) -> None:
        i = 0
        while time.monotonic() < stop:
            created.append(await bench.create(client, 100_000 * (k + 1) + i))
            i += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=bench.web_url, timeout=60, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(client_loop(client, k) for k in range(concurrency)))
        elapsed = time.monotonic() - started
    return len(created) / elapsed, created


async def memory_with_long_polls(bench: Bench, pid: int, request_ids: list[str]) -> dict:
    idle = rss_kib(pid)
    wait = 20
    limits = httpx.Limits(max_connections=len(request_ids), max_keepalive_connections=0)
    timeout = httpx.Timeout(wait + 30, pool=60)
    async with httpx.AsyncClient(base_url=bench.web_url, timeout=timeout, limits=limits) as client:

        async def poll(request_id: str) -> str:
            url = f"{bench.org.api}/jit/requests/{request_id}"
            resp = await client.get(url, params={"wait": wait}, headers=bench.bearer)
            return resp.json()["status"]

        started = time.monotonic()
        polls = [asyncio.create_task(poll(r)) for r in request_ids]
        await asyncio.sleep(wait / 2)
        holding = rss_kib(pid)
        statuses = await asyncio.gather(*polls)
        elapsed = time.monotonic() - started
    pending = statuses.count("pending")
    assert pending == len(request_ids), f"only {pending} of {len(request_ids)} waited"
    assert elapsed >= wait, "the long-polls did not wait"
    return {"idle_kib": idle, "holding_kib": holding, "waiters": len(request_ids)}


def setup(stack: Stack, web_url: str, receiver: WebhookReceiver | None) -> Bench:
    created = stack.cli("orgs", "create", "bench", "--json")
    org = factories.OrgHandle(created["org_id"], created["admin_token"])
    with httpx.Client(base_url=web_url, timeout=30) as client:
        agent = factories.register_agent(client, org, capabilities=[PERMISSION])
        approver = client.post(
            f"{org.api}/approvers", json={"email": "bench@example.com"}, headers=org.admin
        ).json()
        factories.set_policy(
            client,
            org,
            PERMISSION,
            "jit",
            approvers=[approver["approver_id"]],
            channels=["log", "webhook"] if receiver else ["log"],
            webhook_url=receiver.url if receiver else None,
        )
        bench = Bench(web_url, org, agent.bearer(client))
    bench.approver = {"Authorization": f"Bearer {approver['api_token']}"}
    return bench


async def run(args: argparse.Namespace, stack: Stack) -> int:
    # One agent polls and opens every request: limits too high ever to refuse (the stack sets
    # the JIT budgets likewise); their cost is still measured.
    web = stack.web(
        "bench-web",
        JITGATE_AGENT_REQUESTS_PER_MINUTE="1000000000",
        JITGATE_ADDRESS_REQUESTS_PER_MINUTE="1000000000",
    )
    workers = [stack.worker(f"bench-worker{i}", args.worker_threads) for i in range(args.workers)]
    if args.webhook:  # webhooks are delivered by a worker of their own queue
        stack.worker("bench-deliveries", args.worker_threads, queues=DELIVERIES_QUEUE)
    worker = workers[0] if args.workers == 1 else None
    assert worker is not None, "the log-line timing reads one worker's log"
    receiver = WebhookReceiver().start() if args.webhook else None
    try:
        bench = setup(stack, web.url, receiver)
        print(f"web pid {web.proc.pid} at {web.url}; worker threads {args.worker_threads}")
        await request_to_notification(bench, receiver, worker, 20, args.interval)  # warm-up
        if receiver:
            receiver.deliveries.clear()

        ids, task_ms, webhook_ms = await request_to_notification(
            bench, receiver, worker, args.n, args.interval
        )
        decide_ms, approve_ms = await decision_to_agent(bench, ids, args.interval)
        rate, created = await creation_rate(bench, args.concurrency, args.seconds)
        more = await create_more(bench, max(0, args.waiters - len(created)))
        memory = await memory_with_long_polls(bench, web.proc.pid, (created + more)[: args.waiters])
    finally:
        if receiver:
            receiver.stop()

    print()
    notify = summary("request -> notify task runs", task_ms)
    if webhook_ms:
        summary("request -> webhook arrives", webhook_ms)
    decide = summary("decision -> agent", decide_ms)
    summary("  of which the approve's answer", approve_ms)
    print(f"{'requests created':<28} {rate:7.1f} /s  ({args.concurrency} concurrent clients)")
    grown = memory["holding_kib"] - memory["idle_kib"]
    print(
        f"{'web RSS':<28} idle {memory['idle_kib'] / 1024:6.1f} MiB; with {memory['waiters']} "
        f"waiting long-polls {memory['holding_kib'] / 1024:6.1f} MiB "
        f"(+{grown / 1024:.1f} MiB, {grown / memory['waiters']:.1f} KiB each)"
    )
    verdicts = {
        "decision_to_agent_p95": decide["p95"],
        "request_to_notification_p95": notify["p95"],
    }
    failed = 0
    for key, value in verdicts.items():
        ok = value < TARGETS_MS[key]
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {key} {value:.1f} ms < {TARGETS_MS[key]:.0f} ms")
    return 1 if failed else 0


async def create_more(bench: Bench, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=bench.web_url, timeout=30) as client:
        return [await bench.create(client, 900_000 + i) for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="requests timed end to end")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between them")
    parser.add_argument("--webhook", action="store_true", help="also time a webhook channel")
    parser.add_argument("--concurrency", type=int, default=16, help="clients for the rate")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the rate run")
    parser.add_argument("--waiters", type=int, default=1000, help="long-polls held at once")
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    parser.add_argument("--nice", type=int, default=0, help="e.g. -5 on a busy shared machine")
    args = parser.parse_args()
    if reason := redis_unreachable_reason(args.redis_db):
        print(f"SKIP: {reason}")
        return 2
    if args.nice:
        os.nice(args.nice)  # the measuring client too, or its own wake-ups add noise
    stack = Stack(redis_db=args.redis_db, database_url=args.database_url, nice=args.nice)
    stack.flush_redis()
    try:
        return asyncio.run(run(args, stack))
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())

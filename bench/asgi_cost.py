"""In-process CPU per request of the ASGI apps, with no HTTP server and no load generator.

Where bench/bench_http.py measures throughput end to end, this isolates what the application
itself costs: the floor app (bench/floor_app.py) and jitgate's /authz/check and /oauth/token are
called directly with a prepared ASGI scope, alternating, several rounds. It prints, per target,
the main thread's CPU (the event loop, where requests queue) and the whole process's CPU (the
main thread plus the batching writers), minimum and median over rounds, and the ratios to the
floor. Use it to see what a change to a hot path costs before running the HTTP benchmark.

    . /work/venv/bin/activate
    python bench/asgi_cost.py                   # 2000 requests per round, 6 rounds
    python bench/asgi_cost.py -n 4000 --rounds 10
    python bench/asgi_cost.py --targets token     # the floor and token issuance only
    JITGATE_VERIFIED_TOKEN_CACHE=1000 python bench/asgi_cost.py   # with the verified-token cache
    JITGATE_BENCH_REDIS_URL=redis://127.0.0.1:6379/5 python bench/asgi_cost.py --targets check
    python bench/asgi_cost.py --targets token --threads           # the writer threads' CPU too
    python bench/asgi_cost.py --targets token --concurrency 8     # 8 requests in flight at once
    python bench/asgi_cost.py --targets token --prefill 50000     # the rig's database size

The verified-token cache is off unless JITGATE_VERIFIED_TOKEN_CACHE says otherwise (the floor
verifies every time). Pin it to one CPU (`taskset -c 1 ...`) for steadier figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
_TMP = Path(tempfile.mkdtemp(prefix="jitgate-asgi-cost-"))
# Settings are read once per process: fix them before the app is imported.
os.environ.update(
    JITGATE_DATABASE_URL=f"sqlite:///{_TMP / 'bench.db'}",
    JITGATE_PUBLIC_URL="http://testserver",  # the address tests/factories use
    JITGATE_SECRET_KEY="asgi-cost-" + os.urandom(8).hex(),
    JITGATE_ENV="test",
    # Rate limits stay on (their cost is part of what is measured), too high ever to refuse.
    JITGATE_AGENT_REQUESTS_PER_MINUTE="1000000000",
    JITGATE_ADDRESS_REQUESTS_PER_MINUTE="1000000000",
)
os.environ.setdefault("JITGATE_VERIFIED_TOKEN_CACHE", "0")
# Like for like: the floor logs nothing per request (JITGATE_ACCESS_LOG=true costs ~10-60 µs a
# request depending on where stderr goes; the README's Performance section says so).
os.environ.setdefault("JITGATE_ACCESS_LOG", "false")
# Redis mode (limits and revocations in Redis, as `jitgate serve --workers 2` runs): set
# JITGATE_BENCH_REDIS_URL, e.g. redis://127.0.0.1:6379/5 (a database nobody else uses).
if os.environ.get("JITGATE_BENCH_REDIS_URL"):
    os.environ["JITGATE_REDIS_URL"] = os.environ["JITGATE_BENCH_REDIS_URL"]
else:
    os.environ.pop("JITGATE_REDIS_URL", None)
sys.path[:0] = [str(REPO), str(BENCH)]

Call = Callable[[], Awaitable[int]]


def _scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def caller(app: Any, path: str, headers: dict[str, str], bodies: Callable[[], bytes]) -> Call:
    """One request to app; returns the response status."""

    async def call() -> int:
        body = bodies()
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = _scope(path, {**headers, "content-length": str(len(body))})
        await app(scope, receive, send)
        return status

    return call


def _writers() -> list[Any]:
    """The batch writers a token or check feeds (imported late: settings come first)."""
    from app.audit import service as audit
    from app.core import row_writer

    return [row_writer.rows, audit.writer]


def _drained() -> None:
    """Wait until the writers wrote what the round queued, in their own threads: their CPU is
    the round's. flush() on an empty queue only waits for a batch in flight."""
    writers = _writers()
    while any(w.pending() for w in writers):
        time.sleep(0.005)
    for w in writers:
        w.flush()


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread, by name (threads of one name are added up)."""
    import threading

    cpu: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.ident is None or not hasattr(time, "pthread_getcpuclockid"):
            continue
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, ProcessLookupError):  # ended meanwhile
            continue
        cpu[thread.name] = cpu.get(thread.name, 0.0) + seconds
    return cpu


Measured = tuple[float, float, dict[str, float]]


def measure(call: Call, n: int, concurrency: int = 1) -> Measured:
    """(main-thread µs, whole-process µs, µs by thread name) of CPU per request over n
    requests, `concurrency` at a time on the loop. The whole process and the threads include
    the writers' work for the round, waited for after the last request."""
    if prepare := getattr(call, "prepare", None):
        prepare(n)

    async def run() -> Measured:
        if (status := await call()) != 200:
            raise SystemExit(f"sanity request answered {status}")
        _drained()
        threads0 = _thread_cpu()
        cpu0, main0 = time.process_time(), time.thread_time()
        for _ in range(n // concurrency):
            if concurrency == 1:
                await call()
            else:
                await asyncio.gather(*(call() for _ in range(concurrency)))
        main = time.thread_time() - main0
        _drained()
        all_ = time.process_time() - cpu0
        done = n // concurrency * concurrency
        threads = {k: (v - threads0.get(k, 0.0)) / done * 1e6 for k, v in _thread_cpu().items()}
        return main / done * 1e6, all_ / done * 1e6, threads

    return asyncio.run(run())


def floor_target() -> Call:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = _TMP / "floor_public.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    issuer = "http://127.0.0.1:8000/orgs/org_" + "0" * 24
    os.environ.update(BENCH_FLOOR_PUBLIC_KEY=str(pem), BENCH_FLOOR_ISSUER=issuer)
    import floor_app

    now, agent = int(time.time()), "agt_" + "1" * 24
    claims = {
        "iss": issuer, "sub": agent, "client_id": agent, "agent": "bench-agent", "aud": issuer,
        "scope": "document.read document.summarize document.write", "iat": now, "nbf": now,
        "exp": now + 3600, "jti": "j" * 24, "org": issuer.rsplit("/", 1)[1],
    }  # fmt: skip
    kid = "k" * 43  # the length of the service's kids (RFC 7638 thumbprints)
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "at+jwt"})
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return caller(floor_app.app, "/check", headers, lambda: b'{"permission":"document.read"}')


def jitgate_targets() -> tuple[Any, Call, Call]:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests import factories

    app = create_app()
    client = TestClient(app)
    client.__enter__()  # runs the lifespan (migrations, keys, writers); closed at exit
    org = factories.make_org()
    agent = factories.register_agent(
        client, org, capabilities=["document.read", "document.summarize", "document.write"]
    )
    bearer = {"authorization": f"Bearer {agent.token(client)}", "content-type": "application/json"}
    check = caller(
        app, f"/orgs/{org.org_id}/api/v1/authz/check", bearer,
        lambda: b'{"permission":"document.read"}',
    )  # fmt: skip

    forms: list[bytes] = []

    def sign_forms(n: int) -> None:
        """Pre-signed assertions (unique jti each), made before a round's clock starts."""
        forms[:] = [
            urlencode({
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": agent.assertion(),
            }).encode()
            for _ in range(n + 1)
        ]  # fmt: skip

    token = caller(
        app, f"/orgs/{org.org_id}/api/v1/oauth/token",
        {"content-type": "application/x-www-form-urlencoded"}, forms.pop,
    )  # fmt: skip
    token.prepare = sign_forms  # type: ignore[attr-defined]
    return client, check, token


def prefill(n: int) -> None:
    """n token records and n assertion claims written before the rounds, as the service writes
    them (its own jtis, the writer's batches), like the rig's database after a few runs: on a
    fresh database the writers' page writes cost less than they do at the rig's size."""
    from app.core import row_writer
    from app.identity import access_tokens, replay
    from app.models import IssuedToken

    now = time.time()
    for i in range(n):
        record = {
            "jti": access_tokens.new_jti(), "org_id": "org_prefill", "agent_id": "agt_prefill",
            "kind": "access", "scope": "document.read", "audience": "http://testserver",
            "issued_at": _utc(now), "expires_at": _utc(now + 900), "revoked_at": None,
            "subject": None, "parent_jti": None,
        }  # fmt: skip
        row_writer.append(IssuedToken, record)
        replay.claim("agt_prefill", os.urandom(16).hex(), expires_at=now + 300, now=now)
        if i % 500 == 499:
            row_writer.rows.flush()
    row_writer.rows.flush()


def _utc(timestamp: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per round and target")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--targets", default="check,token", help="comma-separated: check, token (floor always)"
    )
    parser.add_argument(
        "--threads", action="store_true", help="also print the writer threads' CPU per request"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="requests in flight at once on the loop (as under load; Redis mode batches claims)",
    )
    parser.add_argument(
        "--prefill", type=int, default=0, help="token records and claims written beforehand"
    )
    args = parser.parse_args()
    chosen = {"floor", *args.targets.split(",")}

    floor = floor_target()
    client, check, token = jitgate_targets()
    prefill(args.prefill)
    print(
        f"{args.rounds} rounds of {args.n} requests, alternating; verified-token cache "
        f"{os.environ['JITGATE_VERIFIED_TOKEN_CACHE']} (0 = off)"
    )
    targets = [
        (n, c) for n, c in (("floor", floor), ("check", check), ("token", token)) if n in chosen
    ]
    results: dict[str, list[Measured]] = {name: [] for name, _ in targets}
    for _ in range(args.rounds):
        for name, call in targets:
            results[name].append(measure(call, args.n, args.concurrency))
    client.__exit__(None, None, None)

    print(f"{'target':8} {'main min':>9} {'main med':>9} {'all min':>9} {'all med':>9}  µs/req")
    base_main = min(m for m, _, _ in results["floor"])
    base_all = min(a for _, a, _ in results["floor"])
    for name, runs in results.items():
        mains, alls = [m for m, _, _ in runs], [a for _, a, _ in runs]
        print(
            f"{name:8} {min(mains):9.1f} {statistics.median(mains):9.1f} "
            f"{min(alls):9.1f} {statistics.median(alls):9.1f}"
            + ("" if name == "floor" else
               f"   floor/{name}: main {base_main / min(mains):.0%}, all {base_all / min(alls):.0%}")
        )  # fmt: skip
    if args.threads:
        _print_threads(results)
    return 0


def _print_threads(results: dict[str, list[Measured]]) -> None:
    """Per target, the writer threads' (and any other busy thread's) CPU per request."""
    print(f"{'target':8} {'thread':24} {'min':>9} {'med':>9}  µs/req")
    for name, runs in results.items():
        names = sorted({t for _, _, threads in runs for t in threads})
        for thread in names:
            values = [threads.get(thread, 0.0) for _, _, threads in runs]
            if max(values) >= 1.0:  # idle threads (the portal, the embedded worker) add nothing
                print(f"{name:8} {thread:24} {min(values):9.1f} {statistics.median(values):9.1f}")


if __name__ == "__main__":
    sys.exit(main())

"""HTTP benchmark: token issuance and /authz/check against the floor of a bare FastAPI JWT check.

What it does, in one run with one set of settings:

1. Starts bench/floor_app.py (FastAPI, one POST route that verifies an EdDSA bearer JWT with
   PyJWT and a cached key) as one uvicorn process on 127.0.0.1, checks it answers, freezes it.
2. Creates a temp SQLite database and an org (`jitgate orgs create bench --json`), starts
   `jitgate serve` (one uvicorn process, the same uvicorn settings), registers an agent with an
   Ed25519 key, gets a token, checks one decision, freezes it.
3. For each round: floor (and floor-sync, informational), POST /authz/check (audit on: every
   check is an audit event, batched by the writer thread) and POST /oauth/token (client
   credentials, a fresh pre-signed assertion per request, unique jti), each a warm-up then a
   measured `wrk --latency` run with only that server running (the other is SIGSTOPped, so they
   never compete for the CPUs while rounds stay close in time).
4. Prints requests/s, p50, p99 and errors per target (medians over rounds), the ratios to the
   floor with PASS/FAIL (check >= 70 %, token >= 40 %; ERROR when any run had errors or no
   responses), and writes JSON to bench/results/. A run with errors or no responses also gets
   a py-spy dump of the server taken half-way through (if py-spy is installed).

Everything binds 127.0.0.1, every wrk run is bounded, servers are killed at exit.

    . /work/venv/bin/activate
    python bench/bench_http.py                       # wrk -t2 -c32 -d10s --latency, 3 rounds
    python bench/bench_http.py -d 20 -c 64 --rounds 5
    python bench/bench_http.py --loop asyncio --http h11
    python bench/bench_http.py --profile --profile-gil  # plus a py-spy run per target
    python bench/bench_http.py --src /tmp/snapshot   # jitgate from another source tree
    python bench/bench_http.py --nice -5             # less noise on a busy shared machine
"""

from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WRK_DIR = BENCH / "wrk"
RESULTS = BENCH / "results"
CHECK_TARGET = 0.70
TOKEN_TARGET = 0.40
ASK_TARGET = 0.50  # issue 5: POST /agents/ask at least half the throughput of /authz/check
ASK_QUESTION = "Can I read and summarize documents for user alice@acme.com?"
PERMISSION = "document.read"
AGENT_NAME = "bench-agent"
CAPABILITIES = [PERMISSION, "document.write", "document.summarize"]
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 290  # the service accepts exp at most 300 s (+30 s leeway) ahead

_children: list[subprocess.Popen] = []


# --------------------------------------------------------------------------- processes


def _stop(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGINT (uvicorn shuts down gracefully, the audit writer flushes), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)  # our own session: only what we started
        os.killpg(proc.pid, signal.SIGCONT)  # in case it was paused
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _cleanup() -> None:
    while _children:
        _stop(_children.pop())


def _on_signal(signum: int, _frame: Any) -> None:
    _cleanup()
    sys.exit(128 + signum)


NICE: list[str] = []  # e.g. ["nice", "-n", "-5"] with --nice -5 (servers and wrk only)


def _spawn(cmd: list[str], *, env: dict[str, str], log: Path, cwd: Path = REPO) -> subprocess.Popen:
    fh = open(log, "ab")  # noqa: SIM115 - lives as long as the child
    proc = subprocess.Popen(
        [*NICE, *cmd],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _children.append(proc)
    return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"server exited with {proc.returncode}; log:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not ready after {timeout}s; log:\n{log.read_text()[-3000:]}")


def _stop_server(proc: subprocess.Popen) -> None:
    _stop(proc)
    if proc in _children:
        _children.remove(proc)


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    name: str
    url: str
    requests: int = 0
    duration_s: float = 0.0
    rps: float = 0.0
    p50_ms: float | None = None
    p75_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    avg_ms: float | None = None
    max_ms: float | None = None
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    assertions_exhausted: int = 0
    wrk_exit: int = 0
    raw: str = ""
    stall_dump: str = ""
    loadavg_before: float | None = None
    server_cpu_s: float | None = None  # user+system CPU the server used during the run
    server_cpu_util: float | None = None  # of one core
    cpu_us_per_req: float | None = None
    server_sys_share: float | None = None  # kernel share of the server's CPU
    ctx_switches_per_req: float | None = None

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values()) + (self.wrk_exit != 0)

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.requests > 0 and not self.assertions_exhausted


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(name: str, url: str, out: str, exit_code: int) -> WrkResult:
    r = WrkResult(name=name, url=url, raw=out, wrk_exit=exit_code)
    if m := re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", out, re.M):
        r.requests = int(m.group(1))
        r.duration_s = _ms(m.group(2) + m.group(3)) / 1000.0
    if m := re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M):
        r.rps = float(m.group(1))
    if m := re.search(r"^\s*Latency\s+(\S+)\s+\S+\s+(\S+)", out, re.M):
        r.avg_ms, r.max_ms = _ms(m.group(1)), _ms(m.group(2))
    for pct, attr in (("50", "p50_ms"), ("75", "p75_ms"), ("90", "p90_ms"), ("99", "p99_ms")):
        if m := re.search(rf"^\s*{pct}%\s+(\S+)", out, re.M):
            setattr(r, attr, _ms(m.group(1)))
    wrk_non2xx = 0
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        wrk_non2xx = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        r.socket_errors = {
            k: int(v)
            for k, v in zip(("connect", "read", "write", "timeout"), m.groups(), strict=True)
            if int(v)
        }
    for code, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M):
        r.statuses[code] = r.statuses.get(code, 0) + int(n)
    from_lua = sum(n for code, n in r.statuses.items() if not code.startswith("2"))
    r.non_2xx = max(wrk_non2xx, from_lua)
    if m := re.search(r"^ASSERTIONS_EXHAUSTED (\d+)$", out, re.M):
        r.assertions_exhausted = int(m.group(1))
    return r


def run_wrk(
    name: str,
    url: str,
    script: Path,
    env_extra: dict[str, str],
    args: argparse.Namespace,
    *,
    duration: float,
    pid: int | None = None,
    dump_dir: Path | None = None,
) -> WrkResult:
    """One bounded wrk run. With pid, a py-spy dump of the server is taken half-way through and
    kept (in dump_dir and the result) when the run saw errors or completed no request at all."""
    cmd = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{int(duration)}s",
        "--timeout",
        f"{args.wrk_timeout:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    env = {**os.environ, **env_extra, "BENCH_THREADS": str(args.threads)}
    proc = subprocess.Popen(
        [*NICE, *cmd],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    _children.append(proc)
    dump = ""
    try:
        if pid is not None and shutil.which("py-spy"):
            try:
                proc.wait(timeout=duration / 2)
            except subprocess.TimeoutExpired:
                dump = _pyspy_dump(pid)
        try:  # bounded: wrk stops itself at -d; the timeout is a backstop
            out, _ = proc.communicate(timeout=duration + 60)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            _stop(proc)
            out, code = "wrk timed out", -1
    finally:
        if proc in _children:
            _children.remove(proc)
    result = parse_wrk(name, url, out, code)
    if dump and (result.errors or result.requests == 0 or result.assertions_exhausted):
        result.stall_dump = dump
        if dump_dir is not None:
            (dump_dir / f"pyspy-dump-{name}.txt").write_text(dump)
        print(f"  !! {name}: errors or no responses; server stacks half-way through:")
        print(_summarize_dump(dump))
    return result


def _pyspy_dump(pid: int) -> str:
    try:
        return subprocess.run(
            ["py-spy", "dump", "-p", str(pid)], capture_output=True, text=True, timeout=20
        ).stdout
    except (subprocess.TimeoutExpired, OSError) as exc:
        return f"py-spy dump failed: {exc}"


def _summarize_dump(dump: str) -> str:
    """Group threads of a py-spy dump by the app/DB frames they are in."""
    groups: collections.Counter[str] = collections.Counter()
    for block in re.split(r"\nThread ", dump)[1:]:
        frames = [ln.strip().split(" (")[0] for ln in block.splitlines()[1:]]
        files = [ln.strip() for ln in block.splitlines()[1:]]
        keep = [
            f
            for f, ln in zip(frames, files, strict=True)
            if "app/" in ln or "_do_get" in f or "do_execute" in f or "do_commit" in f
        ]
        groups[" <- ".join(keep[:5]) or "(idle / event loop)"] += 1
    return "\n".join(f"    {n:3d} thread(s): {k}" for k, n in groups.most_common())


# --------------------------------------------------------------------------- profiling


def profile_run(
    name: str,
    pid: int,
    url: str,
    script: Path,
    env_extra: dict[str, str],
    args: argparse.Namespace,
    outdir: Path,
) -> dict[str, Any] | None:
    """A separate wrk run with py-spy attached (sampling slows the server; figures not used)."""
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        print("  (py-spy not installed: pip install py-spy)")
        return None
    raw = outdir / f"pyspy-{name}.txt"
    spy = subprocess.Popen(
        [
            pyspy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(args.duration)),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(raw),
            *(["--gil"] if args.profile_gil else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    _children.append(spy)
    time.sleep(0.5)
    run_wrk(f"{name}-profiled", url, script, env_extra, args, duration=args.duration)
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _stop(spy)
    if spy in _children:
        _children.remove(spy)
    if not raw.exists():
        print(
            f"  py-spy produced nothing: {spy.stderr.read().decode()[-500:] if spy.stderr else ''}"
        )
        return None
    return summarize_stacks(raw, top=args.profile_top)


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; keep file and function.
    m = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path})"


def summarize_stacks(raw: Path, top: int) -> dict[str, Any]:
    """Self and inclusive sample shares per function, over all threads, idle excluded."""
    self_c: collections.Counter[str] = collections.Counter()
    incl_c: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        # drop the thread label py-spy puts first ("process 123:..." / "thread (0x..)")
        frames = [f for f in frames if not f.startswith(("process ", "thread ("))]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl_c[f] += n
    pct = lambda c: round(100.0 * c / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "raw_file": str(raw),
        "self": [(f, pct(c)) for f, c in self_c.most_common(top)],
        "inclusive": [(f, pct(c)) for f, c in incl_c.most_common(top * 3)],
    }


# --------------------------------------------------------------------------- setup helpers


def _ed25519_jwk(key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "EdDSA"}


def _assertion(key: Ed25519PrivateKey, kid: str, agent_id: str, aud: str, now: int) -> str:
    claims = {
        "iss": agent_id,
        "sub": agent_id,
        "aud": aud,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def write_assertions(
    path: Path, n: int, key: Ed25519PrivateKey, kid: str, agent_id: str, aud: str
) -> float:
    t0 = time.perf_counter()
    now = int(time.time())
    with path.open("w") as fh:
        for _ in range(n):
            fh.write(_assertion(key, kid, agent_id, aud, now) + "\n")
    return time.perf_counter() - t0


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in (
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "pyjwt",
        "cryptography",
        "sqlalchemy",
        "sqlmodel",
        "pydantic",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "-"
    try:
        out["wrk"] = subprocess.run(
            ["wrk", "-v"], capture_output=True, text=True, timeout=5
        ).stdout.splitlines()[0]
    except Exception:  # noqa: BLE001
        out["wrk"] = "?"
    try:
        out["git"] = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        out["git"] = "?"
    return out


def _uvicorn_flags(args: argparse.Namespace) -> list[str]:
    return ["--loop", args.loop, "--http", args.http]


# --------------------------------------------------------------------------- servers and targets


@dataclass
class Server:
    """One uvicorn process. Only the server under measurement runs: the other is SIGSTOPped, so
    the two never compete for the CPUs, yet rounds can alternate floor / check / token closely
    in time (the machine's background load then affects both sides of a ratio alike)."""

    name: str
    proc: subprocess.Popen

    def pause(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGCONT)
        time.sleep(0.2)


@dataclass
class Target:
    name: str
    server: Server
    url: str
    script: Path
    make_env: Any  # (run_name, duration) -> dict of wrk environment; may write files


def start_floor(args: argparse.Namespace, tmp: Path) -> tuple[Server, list[Target]]:
    port = _free_port()
    # The floor verifies a token of the same shape and size as the service's access tokens
    # (the contract's claims, ids of the same lengths): PyJWT's cost grows with the token.
    org_id = "org_" + uuid.uuid4().hex[:24]
    agent_id = "agt_" + uuid.uuid4().hex[:24]
    issuer = f"http://127.0.0.1:{port}/orgs/{org_id}"
    key = Ed25519PrivateKey.generate()
    pem = tmp / "floor_public.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": issuer,
            "sub": agent_id,
            "client_id": agent_id,
            "agent": AGENT_NAME,
            "aud": issuer,
            "scope": " ".join(sorted(CAPABILITIES)),
            "iat": now,
            "nbf": now,
            "exp": now + 6 * 3600,
            "jti": secrets.token_urlsafe(18),
            "org": org_id,
        },
        key,
        algorithm="EdDSA",
        headers={"kid": secrets.token_urlsafe(32), "typ": "at+jwt"},  # a thumbprint's length
    )
    env = {**os.environ, "BENCH_FLOOR_PUBLIC_KEY": str(pem), "BENCH_FLOOR_ISSUER": issuer}
    log = tmp / "floor.log"
    cmd = [sys.executable, str(BENCH / "floor_app.py"), "--port", str(port), *_uvicorn_flags(args)]
    print(f"[floor] starting: {' '.join(cmd)}")
    proc = _spawn(cmd, env=env, log=log)
    server = Server("floor", proc)
    base = f"http://127.0.0.1:{port}"
    _wait_ready(proc, f"{base}/docs", log)
    body = json.dumps({"permission": PERMISSION})
    for route in ("/check", "/check-sync"):
        resp = httpx.post(
            base + route,
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        if resp.status_code != 200:
            raise SystemExit(f"floor sanity check failed: {resp.status_code} {resp.text}")
    print(f"[floor] bearer token: {len(token)} characters, claims as the service's access tokens")
    wenv = {"BENCH_TOKEN": token, "BENCH_BODY": body}
    targets = [
        Target("floor", server, f"{base}/check", WRK_DIR / "post_bearer.lua", lambda _n, _d: wenv)
    ]
    if not args.no_floor_sync:
        targets.append(
            Target(
                "floor-sync",
                server,
                f"{base}/check-sync",
                WRK_DIR / "post_bearer.lua",
                lambda _n, _d: wenv,
            )
        )
    return server, targets


def start_jitgate(
    args: argparse.Namespace, tmp: Path, info: dict[str, Any]
) -> tuple[Server, list[Target]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "JITGATE_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "JITGATE_PUBLIC_URL": base,
        "JITGATE_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        # Rate limits stay on (their cost is measured), too high ever to refuse.
        "JITGATE_AGENT_REQUESTS_PER_MINUTE": "1000000000",
        "JITGATE_ADDRESS_REQUESTS_PER_MINUTE": "1000000000",
        # Like for like: the floor logs nothing per request (README, Performance).
        "JITGATE_ACCESS_LOG": os.environ.get("JITGATE_ACCESS_LOG", "false"),
    }
    env.pop("JITGATE_REDIS_URL", None)  # embedded mode: one process
    cwd = REPO
    jitgate = [shutil.which("jitgate") or "jitgate"]
    if args.src:  # a snapshot of the code (e.g. `git archive HEAD | tar -x -C DIR`)
        cwd = Path(args.src).resolve()
        env["PYTHONPATH"] = str(cwd)  # found before the editable install's finder
        jitgate = [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())"]
    out = subprocess.run(
        [*jitgate, "orgs", "create", "bench", "--json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"jitgate orgs create failed: {out.stderr}")
    org = json.loads(out.stdout.strip().splitlines()[-1])
    org_id, admin = org["org_id"], org["admin_token"]
    api = f"{base}/orgs/{org_id}/api/v1"

    if args.loop == "auto" and args.http == "auto":
        cmd = [*jitgate, "serve", "--port", str(port)]
    else:  # `jitgate serve` has no loop/http flags: the same uvicorn.run settings via the CLI
        cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "info",
               "--proxy-headers", *_uvicorn_flags(args)]  # fmt: skip
    log = tmp / "jitgate.log"
    print(f"[jitgate] starting: {' '.join(cmd)}")
    proc = _spawn(cmd, env=env, log=log, cwd=cwd)
    server = Server("jitgate", proc)
    _wait_ready(proc, f"{base}/healthz", log)
    key = Ed25519PrivateKey.generate()
    kid = "bench-" + uuid.uuid4().hex[:8]
    token_url = f"{api}/oauth/token"
    with httpx.Client(timeout=30) as client:
        resp = client.post(
            f"{api}/agents/register",
            headers={"Authorization": f"Bearer {admin}"},
            json={
                "name": AGENT_NAME,
                "capabilities": CAPABILITIES,
                "jwks": {"keys": [_ed25519_jwk(key, kid)]},
            },
        )
        if resp.status_code != 201:
            raise SystemExit(f"agent registration failed: {resp.status_code} {resp.text}")
        agent_id = resp.json()["agent_id"]

        def fresh_access_token() -> str:
            resp = client.post(token_url, data={
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": _assertion(key, kid, agent_id, token_url, int(time.time())),
            })  # fmt: skip
            if resp.status_code != 200:
                raise SystemExit(f"token request failed: {resp.status_code} {resp.text}")
            return resp.json()["access_token"]

        access = fresh_access_token()
        check_body = json.dumps({"permission": PERMISSION})
        resp = client.post(
            f"{api}/authz/check",
            content=check_body,
            headers={"Authorization": f"Bearer {access}", "Content-Type": "application/json"},
        )
        if resp.status_code != 200 or resp.json().get("allowed") is not True:
            raise SystemExit(f"check sanity failed: {resp.status_code} {resp.text}")
    info.update(org_id=org_id, agent_id=agent_id, server_cmd=cmd)
    print(f"[jitgate] access token: {len(access)} characters")
    wenv = {"BENCH_TOKEN": access, "BENCH_BODY": check_body}

    def token_env(name: str, duration: float) -> dict[str, str]:
        # Fresh assertions for every run (exp is at most 5 minutes ahead, jti single-use).
        n = max(1000, int(args.assertions * duration / 10.0))
        afile = tmp / f"assertions-{name}.txt"
        secs = write_assertions(afile, n, key, kid, agent_id, token_url)
        print(f"  [{name}] {n} assertions signed in {secs:.1f}s")
        return {"BENCH_ASSERTIONS": str(afile)}

    targets = []
    if "check" in args.targets:
        targets.append(
            Target(
                "check",
                server,
                f"{api}/authz/check",
                WRK_DIR / "post_bearer.lua",
                lambda _n, _d: wenv,
            )
        )
    if "token" in args.targets:
        targets.append(
            Target("token", server, token_url, WRK_DIR / "token_assertions.lua", token_env)
        )
    if "ask" in args.targets:
        ask_env = {"BENCH_TOKEN": access, "BENCH_BODY": json.dumps({"question": ASK_QUESTION})}
        targets.append(
            Target(
                "ask",
                server,
                f"{api}/agents/ask",
                WRK_DIR / "post_bearer.lua",
                lambda _n, _d: ask_env,
            )
        )
    return server, targets


def _audit_counts(db: Path) -> dict[str, int]:
    """After shutdown (the writer flushed): audit events per action, proof that audit was on."""
    import sqlite3

    try:
        con = sqlite3.connect(db)
        rows = con.execute(
            "SELECT action || ':' || outcome, count(*) FROM audit_event GROUP BY 1"
        ).fetchall()
        con.close()
        return dict(rows)
    except sqlite3.Error as exc:
        return {"error": str(exc)}  # type: ignore[dict-item]


def _cpu_seconds(pid: int, *, system_only: bool = False) -> float:
    """utime + stime (or stime only) of a process, all its threads, from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = int(fields[12]) if system_only else int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _ctx_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of all the process's threads."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/status") as fh:
            for line in fh:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


def measure(args: argparse.Namespace, t: Target, tag: str, tmp: Path) -> WrkResult:
    """Warm-up then one measured run, with only t's server running."""
    warm_env = t.make_env(f"{t.name}-warmup{tag}", args.warmup) if args.warmup else None
    env = t.make_env(f"{t.name}{tag}", args.duration)
    t.server.resume()
    try:
        if warm_env is not None:
            run_wrk(f"{t.name}-warmup", t.url, t.script, warm_env, args, duration=args.warmup)
        load = os.getloadavg()[0]
        pid = t.server.proc.pid
        cpu0, wall0 = _cpu_seconds(pid), time.monotonic()
        sys0, cs0 = _cpu_seconds(pid, system_only=True), _ctx_switches(pid)
        r = run_wrk(t.name, t.url, t.script, env, args, duration=args.duration,
                    pid=t.server.proc.pid, dump_dir=tmp)  # fmt: skip
        cpu, wall = _cpu_seconds(pid) - cpu0, time.monotonic() - wall0
        sys_cpu, switches = _cpu_seconds(pid, system_only=True) - sys0, _ctx_switches(pid) - cs0
        r.server_sys_share = round(sys_cpu / cpu, 3) if cpu else None
        r.ctx_switches_per_req = round(switches / r.requests, 1) if r.requests else None
        r.loadavg_before = round(load, 2)
        r.server_cpu_s = round(cpu, 2)
        r.server_cpu_util = round(cpu / wall, 3) if wall else None
        r.cpu_us_per_req = round(1e6 * cpu / r.requests, 1) if r.requests else None
    finally:
        t.server.pause()
    print(
        f"  {t.name + tag:<14} {r.rps:8.0f} req/s  p50 {_fmt(r.p50_ms):>8} ms  "
        f"p99 {_fmt(r.p99_ms):>8} ms  {'ok' if r.ok else 'ERRORS ' + str(r.statuses)}"
        f"  server CPU {_fmt(r.server_cpu_util and 100 * r.server_cpu_util, '.0f')}%"
        f" = {_fmt(r.cpu_us_per_req, '.0f')} us/req (sys {_fmt(r.server_sys_share, '.0%')},"
        f" {_fmt(r.ctx_switches_per_req, '.1f')} ctx sw/req)  (load {load:.1f})"
    )
    return r


# --------------------------------------------------------------------------- report


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def _median_run(runs: list[WrkResult]) -> WrkResult:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def report(
    args: argparse.Namespace,
    rounds: list[dict[str, WrkResult]],
    profiles: dict[str, Any],
    info: dict[str, Any],
) -> int:
    names = [
        n for n in ("floor", "floor-sync", "check", "token", "ask") if any(n in r for r in rounds)
    ]
    per = {n: [r[n] for r in rounds if n in r] for n in names}
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{int(args.duration)}s --latency, "
        f"{len(rounds)} round(s) (median shown), uvicorn loop={args.loop} http={args.http}, "
        f"1 process each, 127.0.0.1, {os.cpu_count()} CPUs"
    )
    head = (
        f"{'target':<12}{'req/s':>9}{'min-max':>13}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU us/req':>11}{'requests':>10}  errors"
    )
    print(head)
    print("-" * (len(head) + 10))
    for name in names:
        runs = per[name]
        m = _median_run(runs)
        bad = [r for r in runs if not r.ok]
        err = "none"
        if bad:
            err = "ERRORS: " + "; ".join(
                f"non-2xx {r.non_2xx} {r.statuses} socket {r.socket_errors}"
                + (f" wrk-exit {r.wrk_exit}" if r.wrk_exit else "")
                + (
                    f" assertions-exhausted {r.assertions_exhausted}"
                    if r.assertions_exhausted
                    else ""
                )
                + (" NO RESPONSES" if r.requests == 0 else "")
                for r in bad
            )
        lo, hi = min(r.rps for r in runs), max(r.rps for r in runs)
        print(
            f"{name:<12}{m.rps:>9.0f}{f'{lo:.0f}-{hi:.0f}':>13}{_fmt(m.p50_ms):>9}"
            f"{_fmt(m.p99_ms):>9}{_fmt(m.cpu_us_per_req, '.0f'):>11}"
            f"{sum(r.requests for r in runs):>10}  {err}"
        )
    print()
    verdicts: dict[str, Any] = {}
    status = 0
    checks = (("check", "floor", CHECK_TARGET), ("token", "floor", TOKEN_TARGET),
              ("ask", "check", ASK_TARGET))  # fmt: skip
    for name, base, target in checks:
        pairs = [(r[name], r[base]) for r in rounds if name in r and base in r]
        if not pairs:
            continue
        ratios = sorted(a.rps / b.rps for a, b in pairs if b.rps)
        ratio = ratios[len(ratios) // 2] if ratios else 0.0
        ok = all(a.ok and b.ok for a, b in pairs)
        # a run with errors proves nothing either way
        verdict = "ERROR" if not ok else "PASS" if ratio >= target else "FAIL"
        if verdict != "PASS":
            status = 1
        effs = sorted(
            b.cpu_us_per_req / a.cpu_us_per_req
            for a, b in pairs
            if a.cpu_us_per_req and b.cpu_us_per_req
        )
        eff = effs[len(effs) // 2] if effs else None
        verdicts[name] = {
            "ratio": round(ratio, 4),
            "cpu_efficiency_vs_floor": round(eff, 4) if eff else None,
            "per_round": [round(x, 4) for x in ratios],
            "target": target,
            "verdict": verdict,
        }
        label = {"check": "/authz/check", "token": "/oauth/token", "ask": "/agents/ask"}[name]
        print(
            f"{label:<13} / {base:<5} = {ratio:6.1%}  (per round {', '.join(f'{x:.1%}' for x in ratios)};"
            f" target >= {target:.0%})  {verdict}"
            + (f"   [CPU per request: {base}/{name} = {eff:.1%}]" if eff else "")
        )
    if info.get("audit_events"):
        print(f"audit events written: {info['audit_events']}")
    for name, prof in profiles.items():
        if not prof:
            continue
        print(
            f"\npy-spy {name}: {prof['samples']} samples "
            f"({'GIL holder only' if args.profile_gil else 'all threads'})"
        )
        print("  self time:")
        for frame, p in prof["self"]:
            print(f"    {p:5.1f}%  {frame}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = RESULTS / f"http-{stamp}-{args.loop}-{args.http}.json"
    payload = {
        "when": stamp,
        "settings": {
            "threads": args.threads,
            "connections": args.connections,
            "wrk_timeout_s": args.wrk_timeout,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "loop": args.loop,
            "http": args.http,
            "cpus": os.cpu_count(),
            "assertions_per_10s": args.assertions,
            "src": args.src or str(REPO),
            "nice": args.nice,
        },
        "versions": _versions(),
        "summary": {
            n: {
                "rps_median": _median_run(per[n]).rps,
                "p50_ms": _median_run(per[n]).p50_ms,
                "p99_ms": _median_run(per[n]).p99_ms,
                "cpu_us_per_req": _median_run(per[n]).cpu_us_per_req,
                "ok": all(r.ok for r in per[n]),
            }
            for n in names
        },
        "rounds": [
            {k: {**asdict(v), "errors": v.errors, "ok": v.ok} for k, v in r.items()} for r in rounds
        ],
        "ratios": verdicts,
        "info": info,
        "profiles": profiles,
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"\nresults: {out}")
    return status


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-d", "--duration", type=float, default=10, help="seconds per measured run")
    p.add_argument("-c", "--connections", type=int, default=32)
    p.add_argument("-t", "--threads", type=int, default=2)
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternate floor/check/token this many times; medians are reported",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=2,
        help="seconds of unmeasured warm-up before each measured run (0: none)",
    )
    p.add_argument(
        "--assertions",
        type=int,
        default=60_000,
        help="pre-signed assertions per 10 s of token run (scaled by duration)",
    )
    p.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    p.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    p.add_argument(
        "--targets", default="floor,check,token,ask", help="comma list of floor, check, token, ask"
    )
    p.add_argument(
        "--no-floor-sync", action="store_true", help="skip the informational sync-route floor"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="after the rounds, one more run per target under py-spy; top frames",
    )
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument(
        "--profile-gil",
        action="store_true",
        help="py-spy --gil: only samples holding the GIL (pure CPU attribution)",
    )
    p.add_argument("--keep-tmp", action="store_true")
    p.add_argument(
        "--src",
        default=None,
        help="run jitgate from this source snapshot instead of the installed tree",
    )
    p.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    p.add_argument(
        "--wrk-timeout",
        type=float,
        default=5,
        help="seconds before wrk counts a request as a timeout error (a stalled server then "
        "shows up as errors, not as a slow run)",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run servers and wrk under `nice -n N` (negative needs root): less noise "
        "from other work on a shared machine",
    )
    args = p.parse_args()  # fmt: skip
    args.targets = {t.strip() for t in args.targets.split(",") if t.strip()}
    if args.nice:
        NICE[:] = ["nice", "-n", str(args.nice)]
    if not Path(args.wrk).exists():
        raise SystemExit("wrk not found: apt-get install -y wrk")

    atexit.register(_cleanup)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    tmp = Path(tempfile.mkdtemp(prefix="jitgate-bench-"))
    rounds: list[dict[str, WrkResult]] = []
    profiles: dict[str, Any] = {}
    info: dict[str, Any] = {"tmp": str(tmp)}
    servers: list[Server] = []
    targets: list[Target] = []
    try:
        # One server at a time: start, check, then freeze it before starting the next.
        if "floor" in args.targets:
            server, ts = start_floor(args, tmp)
            server.pause()
            servers.append(server)
            targets += ts
        if args.targets & {"check", "token", "ask"}:
            server, ts = start_jitgate(args, tmp, info)
            server.pause()
            servers.append(server)
            targets += ts
        for i in range(args.rounds):
            print(f"round {i + 1}/{args.rounds}")
            rounds.append({t.name: measure(args, t, f"#{i + 1}", tmp) for t in targets})
        if args.profile:
            for t in targets:
                if t.name == "floor-sync":
                    continue
                env = t.make_env(f"{t.name}-profiled", args.duration)
                t.server.resume()
                try:
                    profiles[t.name] = profile_run(
                        t.name, t.server.proc.pid, t.url, t.script, env, args, tmp
                    )
                finally:
                    t.server.pause()
        for server in servers:
            server.resume()
            _stop_server(server.proc)
        jg = tmp / "bench.db"
        if jg.exists():
            info["audit_events"] = _audit_counts(jg)
        return report(args, rounds, profiles, info)
    finally:
        for server in servers:
            server.resume()
        _cleanup()
        if args.keep_tmp or args.profile:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

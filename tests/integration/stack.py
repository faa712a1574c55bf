"""Redis-mode jitgate as separate processes: web (uvicorn) and Celery workers sharing one database.

Used by the integration tests and by bench/bench_jit.py. Every process gets the same JITGATE_*
environment (a Redis database number of its own, flushed at start), so tokens minted by one
web process verify on another and a decision taken anywhere reaches every waiter.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PUBLIC_URL = "http://testserver"  # what tests.factories signs assertions for
QUEUE, DELIVERIES_QUEUE = "jitgate", "jitgate.deliveries"  # as in workers/celery_app.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_unreachable_reason(db: int) -> str | None:
    """None when the real Redis answers PING; otherwise why the Redis-mode tests cannot run."""
    try:
        import redis

        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        return f"no Redis at {REDIS_HOST}:{REDIS_PORT} ({type(exc).__name__}: {exc})"
    return None


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            self.popen.wait(15)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Web:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """One database, one Redis database, any number of web processes and workers."""

    redis_db: int = 15
    redis_port: int = REDIS_PORT  # a private redis-server (tests/integration/redis_server.py)
    database_url: str | None = None
    redis_port: int = REDIS_PORT  # a private redis-server's (tests/integration/private_redis.py)
    nice: int = 0  # a negative value (as root) keeps a busy shared machine's noise out of timings
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jitgate-it-")))
    procs: list[Proc] = field(default_factory=list)

    @property
    def redis_url(self) -> str:
        return f"redis://{REDIS_HOST}:{self.redis_port}/{self.redis_db}"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
        env.update(
            JITGATE_ENV="test",
            JITGATE_DATABASE_URL=self.database_url or f"sqlite:///{self.workdir}/jitgate.db",
            JITGATE_REDIS_URL=self.redis_url,
            JITGATE_PUBLIC_URL=PUBLIC_URL,
            JITGATE_SECRET_KEY="integration-secret-key-0123456789",
            JITGATE_VISIBILITY_TIMEOUT="5",
            JITGATE_SWEEP_SECONDS="3600",  # the tests run the sweep when they mean to
            # One agent opens dozens of requests in some tests and benchmarks; the rate-limit
            # tests set their own limits (per web process or per agent).
            JITGATE_AGENT_MAX_PENDING_JIT="100000",
            JITGATE_AGENT_JIT_REQUESTS_PER_HOUR="100000",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        env.update(overrides)
        return env

    def flush_redis(self) -> None:
        import redis

        redis.Redis(host=REDIS_HOST, port=self.redis_port, db=self.redis_db).flushdb()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        log = self.workdir / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None,
            )
        proc = Proc(name, popen, log, argv, env)
        self.procs.append(proc)
        return proc

    def respawn(self, proc: Proc) -> Proc:
        """The same command again, as a supervisor (docker's restart policy) would start it."""
        return self._spawn(proc.name, proc.argv, proc.env)

    def cli(self, *args: str) -> Any:
        # The console script, not `python -m app.cli` (running app.cli as __main__ imports it twice).
        argv = [str(Path(sys.executable).with_name("jitgate")), *args]
        done = subprocess.run(argv, cwd=ROOT, env=self.env(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    def web(self, name: str = "web", **env: str) -> Web:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        web = Web(self._spawn(name, argv, self.env(**env)), port)
        self._wait_http(web)
        return web

    def worker(
        self, name: str = "worker", concurrency: int = 4, queues: str = QUEUE, **env: str
    ) -> Proc:
        """A Celery worker process; as the Procfile runs them, one per queue (`jitgate`, or
        `jitgate.deliveries` for webhooks and callbacks) so each has its own pool."""
        argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker"]
        argv += ["--pool", "threads", "-c", str(concurrency), "-Q", queues, "-l", "INFO"]
        argv += ["--without-gossip", "--without-mingle", "-n", f"{name}-{len(self.procs)}@%h"]
        proc = self._spawn(name, argv, self.env(**env))
        self._wait_log(proc, "ready.")
        return proc

    def beat(self, name: str = "beat", **env: str) -> Proc:
        """Celery beat as the Procfile runs it, with a schedule file of this stack's own."""
        argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "beat"]
        argv += ["-l", "INFO", "--schedule", str(self.workdir / "beat-schedule")]
        proc = self._spawn(name, argv, self.env(**env))
        self._wait_log(proc, "beat: Starting")
        return proc

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        argv = [str(Path(sys.executable).with_name("jitgate")), *args]
        return subprocess.run(argv, cwd=ROOT, env=self.env(), capture_output=True, timeout=60)

    def _wait_http(self, web: Web, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if web.proc.popen.poll() is not None:
                raise RuntimeError(f"{web.proc.name} exited:\n{web.proc.output()}")
            try:
                if httpx.get(f"{web.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{web.proc.name} did not start:\n{web.proc.output()}")

    def _wait_log(self, proc: Proc, marker: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while marker not in proc.output():
            if proc.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not become ready:\n{proc.output()}")
            time.sleep(0.05)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


@contextmanager
def running_stack(**kwargs: Any) -> Iterator[Stack]:
    stack = Stack(**kwargs)
    stack.flush_redis()
    try:
        yield stack
    finally:
        stack.close()

"""Redis-mode jitgate as separate processes: web (uvicorn) and Celery workers sharing one database.

Used by the integration tests and by bench/bench_jit.py. Every process gets the same JITGATE_*
environment (a Redis database number of its own, flushed at start), so tokens minted by one
web process verify on another and a decision taken anywhere reaches every waiter.

By default the processes run this checkout with the test environment's Python. Given
`installed` (the bin directory of another installation, e.g. a plain `pip install .`), they are
the Procfile's own commands run with that installation's `jitgate` and `celery`, from a scratch
directory and without PYTHONPATH, so the installed package is what runs.
"""

import json
import os
import shlex
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
# How long a web process or worker may take to come up on a busy machine (pytest -n workers and
# other jobs on two cores): a bound for one that never does, not a measure of start-up speed.
STARTUP_SECONDS = 120.0


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
    database_url: str | None = None
    redis_port: int = REDIS_PORT  # a private redis-server's (tests/integration/redis_server.py)
    installed: Path | None = None  # another installation's bin directory (see the docstring)
    nice: int = 0  # a negative value (as root) keeps a busy shared machine's noise out of timings
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jitgate-it-")))
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.installed is not None:
            check_installation(self.installed, self.workdir, self.env())

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
            PYTHONUNBUFFERED="1",
        )
        if self.installed is None:
            env["PYTHONPATH"] = str(ROOT)
        else:
            env.pop("PYTHONPATH", None)  # the installed package, not the checkout
            env["PATH"] = f"{self.installed}{os.pathsep}{env.get('PATH', '')}"
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
                cwd=self.cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None,
            )
        proc = Proc(name, popen, log, argv, env)
        self.procs.append(proc)
        return proc

    @property
    def cwd(self) -> Path:
        return ROOT if self.installed is None else self.workdir

    def _jitgate(self) -> str:
        """The console script, not `python -m app.cli` (running app.cli as __main__ imports it
        twice)."""
        return str((self.installed or Path(sys.executable).parent) / "jitgate")

    def respawn(self, proc: Proc) -> Proc:
        """The same command again, as a supervisor (docker's restart policy) would start it."""
        return self._spawn(proc.name, proc.argv, proc.env)

    def cli(self, *args: str) -> Any:
        done = self.run_cli(*args)
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    def web(self, name: str = "web", **env: str) -> Web:
        port = free_port()
        if self.installed is not None:
            argv = self._procfile("web", port=port)
        else:
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
        if self.installed is not None:
            entry = {QUEUE: "worker", DELIVERIES_QUEUE: "deliveries"}[queues]
            argv = self._procfile(entry)
        else:
            argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app"]
            argv += ["worker", "--pool", "threads", "-c", str(concurrency), "-Q", queues]
            argv += ["-l", "INFO", "--without-gossip", "--without-mingle"]
            argv += ["-n", f"{name}-{len(self.procs)}@%h"]
        proc = self._spawn(name, argv, self.env(**env))
        self._wait_log(proc, "ready.")
        return proc

    def beat(self, name: str = "beat", **env: str) -> Proc:
        """Celery beat as the Procfile runs it, with a schedule file of this stack's own."""
        if self.installed is not None:
            argv = self._procfile("beat")
        else:
            argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "beat"]
            argv += ["-l", "INFO", "--schedule", str(self.workdir / "beat-schedule")]
        proc = self._spawn(name, argv, self.env(**env))
        self._wait_log(proc, "beat: Starting")
        return proc

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        argv = [self._jitgate(), *args]
        return subprocess.run(argv, cwd=self.cwd, env=self.env(), capture_output=True, timeout=60)

    def _procfile(self, entry: str, port: int = 0) -> list[str]:
        """The Procfile's command for `entry`, run with the installation's executables: only
        the port, the listening address (loopback) and the beat schedule's path change."""
        assert self.installed is not None
        argv = procfile_argv(entry, port=port, beat_schedule=self.workdir / "beat-schedule")
        return [str(self.installed / argv[0]), *argv[1:]]

    def _wait_http(self, web: Web, timeout: float = STARTUP_SECONDS) -> None:
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

    def _wait_log(self, proc: Proc, marker: str, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while marker not in proc.output():
            if proc.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not become ready:\n{proc.output()}")
            time.sleep(0.05)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def procfile_argv(entry: str, *, port: int, beat_schedule: Path) -> list[str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    commands = dict(line.split(":", 1) for line in lines if ":" in line and line[0].isalpha())
    command = commands[entry].replace("${PORT:-8000}", str(port))
    command = command.replace("/tmp/jitgate-beat-schedule", str(beat_schedule))
    argv = shlex.split(command)
    return ["127.0.0.1" if word == "0.0.0.0" else word for word in argv]  # noqa: S104


def check_installation(bin_dir: Path, workdir: Path, env: dict[str, str]) -> None:
    """Fail (never skip) when `bin_dir` lacks what the Procfile runs, or when its Python would
    import this checkout instead of the installed package."""
    missing = [name for name in ("jitgate", "celery", "python") if not (bin_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{bin_dir} has no {', '.join(missing)}: not an installation")
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import app, workers; print(app.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if where.returncode != 0:
        raise RuntimeError(f"{bin_dir}/python cannot import jitgate's server:\n{where.stderr}")
    if Path(where.stdout.strip()).resolve().is_relative_to(ROOT):
        raise RuntimeError(f"{bin_dir} runs this checkout ({where.stdout.strip()}), not an install")


@contextmanager
def running_stack(**kwargs: Any) -> Iterator[Stack]:
    stack = Stack(**kwargs)
    stack.flush_redis()
    try:
        yield stack
    finally:
        stack.close()

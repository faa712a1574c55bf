"""/healthz is liveness only; /readyz names the dependency that is down.

The Redis-mode test runs real processes: a private redis-server (its own port, so stopping it
disturbs nobody), a uvicorn web process and a Celery worker, then stops and restarts Redis.
"""

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.sdk.live_server import REPO, STARTUP_SECONDS, _wait_healthy, free_port, server_env

REDIS = shutil.which("redis-server")
WAIT_SECONDS = 45.0


def test_embedded_readiness_names_each_check(client):
    answer = client.get("/readyz")

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "checks": {
            "database": "ok",
            "redis": "not_configured",
            "workers": "embedded",
            "beat": "embedded",
        },
    }
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_is_503_naming_the_database_when_it_cannot_be_reached(client, monkeypatch):
    from app.http import health

    def broken_engine():
        raise ConnectionError("database gone")

    monkeypatch.setattr(health, "get_engine", broken_engine)

    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["checks"]["database"] == "unavailable (ConnectionError)"
    assert answer.json()["error"] == "temporarily_unavailable"
    assert "database" in answer.json()["error_description"]
    assert answer.headers["Retry-After"]
    assert client.get("/healthz").status_code == 200  # liveness does not depend on it


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(
            [*argv, "--appendonly", "no"], cwd=self.workdir, stdout=subprocess.DEVNULL
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_mode(tmp_path: Path) -> Iterator[tuple[RedisServer, dict[str, str], list]]:
    server = RedisServer(tmp_path)
    server.start()
    port = free_port()
    env = server_env(tmp_path, port) | {
        "JITGATE_REDIS_URL": server.url,
        "JITGATE_WORKER_HEARTBEAT_SECONDS": "1",
    }
    web_log = tmp_path / "web.log"
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    with web_log.open("wb") as out:
        web = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    processes = [web]
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", web, web_log, STARTUP_SECONDS)
        env["BASE_URL"] = f"http://127.0.0.1:{port}"
        yield server, env, processes
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        server.stop()


def start_worker(env: dict[str, str], log: Path, queue: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker"]
    argv += ["--pool", "threads", "-c", "2", "-Q", queue, "-l", "INFO", "-n", f"{queue}@%h"]
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def readiness_until(base: str, accept: Callable[[int, dict], bool]) -> tuple[int, dict]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answer = httpx.get(f"{base}/readyz", timeout=10)
        if accept(answer.status_code, answer.json()) or time.monotonic() > deadline:
            return answer.status_code, answer.json()
        time.sleep(0.3)


@pytest.mark.skipif(REDIS is None, reason="needs redis-server on PATH")
def test_redis_mode_readiness_follows_workers_and_redis(redis_mode, tmp_path, monkeypatch):
    from app.settings import get_settings

    server, env, processes = redis_mode
    base = env["BASE_URL"]

    # Given no worker yet: not ready, and it says why.
    status, body = readiness_until(base, lambda s, b: True)
    assert (status, body["checks"]["workers"], body["checks"]["redis"]) == (503, "none", "ok")

    # When a worker of the main queue starts: still not ready, the deliveries queue has none.
    metrics_port = free_port()
    worker_env = env | {"JITGATE_WORKER_METRICS_PORT": str(metrics_port)}
    processes.append(start_worker(worker_env, tmp_path / "worker.log", "jitgate"))
    status, body = readiness_until(base, lambda s, b: b["checks"]["workers"] != "none")
    assert (status, body["checks"]["workers"]) == (503, "none for jitgate.deliveries")

    # When the deliveries worker starts too, the heartbeats make the service ready.
    processes.append(start_worker(env, tmp_path / "deliveries.log", "jitgate.deliveries"))
    status, body = readiness_until(base, lambda s, b: s == 200)
    assert status == 200, (body, (tmp_path / "worker.log").read_text()[-2000:])
    assert body["checks"] == {"database": "ok", "redis": "ok", "workers": "ok", "beat": "never"}
    # The worker serves its own counters (deliveries happen in workers, not in the web process).
    scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert "# TYPE jitgate_notification_deliveries_total counter" in scraped

    # A sweep (what beat schedules) is reported; beat's absence alone does not fail readiness.
    from workers import heartbeat

    monkeypatch.setattr(get_settings(), "redis_url", server.url)
    heartbeat.sweep_ran()
    assert readiness_until(base, lambda s, b: True)[1]["checks"]["beat"] == "ok"

    # When Redis stops: 503 naming Redis.
    server.stop()
    status, body = readiness_until(base, lambda s, b: s == 503)
    assert status == 503 and body["checks"]["redis"].startswith("unavailable")
    assert "redis" in body["error_description"]

    # When it returns (empty, as after a crash): ready again once the worker stamps again.
    server.start()
    status, body = readiness_until(base, lambda s, b: s == 200)
    assert status == 200, (body, (tmp_path / "worker.log").read_text()[-3000:])

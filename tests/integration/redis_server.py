"""A redis-server of the test's own, on a free port, that the test may SIGKILL and restart.

Killing the machine's shared Redis would disturb every other run; this one serves one stack.
It persists as docker-compose.yml's Redis does (`--appendonly yes`, fsync every second), so a
restart gives back what a production Redis would: the queues, less at most the last second.
"""

import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.stack import REDIS_HOST, free_port


def redis_server_missing() -> str | None:
    return None if shutil.which("redis-server") else "no redis-server binary on this machine"


@dataclass
class RedisServer:
    port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jitgate-redis-")))
    popen: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> "RedisServer":
        argv = ["redis-server", "--bind", REDIS_HOST, "--port", str(self.port), "--save", ""]
        argv += ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.workdir)]
        log = (self.workdir / "redis.log").open("ab")
        self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {self.port} did not start")
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=REDIS_HOST, port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final fsync, connections cut mid-command."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(15)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

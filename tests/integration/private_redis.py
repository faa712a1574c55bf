"""A redis-server of the test's own, on its own port, that the test can kill and bring back.

Killing the machine's shared Redis would break every other test running on it; this one
belongs to a single test. No persistence: what a restart brings back is an empty Redis, as
after a crash without an append-only file (the harder case for a broker).
"""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.integration.stack import free_port


def redis_server_missing() -> str | None:
    return None if shutil.which("redis-server") else "no redis-server binary on this machine"


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="jitgate-redis-"))
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL, as a crash: no goodbye to connected clients."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

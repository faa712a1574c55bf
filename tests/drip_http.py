"""A receiver on 127.0.0.1 that never finishes answering: it reads the POST, sends a status line,
then drips one header byte at a time, each well inside any per-read timeout, until released.

This is the slow third-party endpoint of security finding 3: a per-read timeout never fires,
so only an overall deadline ends the request. The server counts the requests it is dripping on
right now (`open`), so a test can assert that something happened *while* they were in progress.
"""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class DripServer:
    interval: float = 0.2  # seconds between bytes
    duration: float = 60.0  # how long one answer drips unless released first
    started: int = 0  # requests received
    open: int = 0  # requests being dripped on now
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/cb") -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def wait_open(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open >= count:
                return True
            time.sleep(0.02)
        return False

    def _drip(self, handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        handler.wfile.flush()
        ends = time.monotonic() + self.duration
        while time.monotonic() < ends and not self.release.wait(self.interval):
            handler.wfile.write(b"a")
            handler.wfile.flush()
        handler.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")

    def start(self) -> "DripServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner._lock:
                    owner.started += 1
                    owner.open += 1
                try:
                    owner._drip(self)
                except OSError:
                    pass  # the client gave up on us: what a deadline is for
                finally:
                    with owner._lock:
                        owner.open -= 1

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

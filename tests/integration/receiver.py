"""A webhook receiver on 127.0.0.1, as an approvers' system would run one.

It records every POST with its arrival time, deduplicates by the body's `event_id` (the
notifier keeps it stable across retries), and can hold the first delivery open until the test
releases it, so a worker can be killed in the middle of a notification.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    at: float  # time.time() when the request arrived
    event_id: str
    event: str
    request_id: str


@dataclass
class WebhookReceiver:
    hold_first: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)  # the first one is held
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def distinct(self) -> dict[str, Delivery]:
        """What the receiver acts on: the first delivery of each event id."""
        with self._lock:
            first: dict[str, Delivery] = {}
            for d in self.deliveries:
                first.setdefault(d.event_id, d)
            return first

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.distinct()) >= count:
                return True
            time.sleep(0.01)
        return False

    def _record(self, body: bytes, event: str) -> bool:
        doc: dict[str, Any] = json.loads(body)
        with self._lock:
            first = not self.deliveries
            self.deliveries.append(
                Delivery(time.time(), doc["event_id"], event, doc["request"]["request_id"])
            )
        return first

    def start(self) -> "WebhookReceiver":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                first = owner._record(body, self.headers.get("Jitgate-Event", ""))
                if first and owner.hold_first:
                    owner.held.set()
                    owner.release.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender died while we held its request

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

"""A tiny HTTP server on 127.0.0.1 for jwks_uri and jku tests: canned answers, recorded requests.

Besides plain answers it can misbehave the way a hostile key host would: drip a body one byte at
a time, stream a body far larger than any JWKS, or wait before answering.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the answer starts
    drip_every: float | None = None  # send one byte this often, for as long as the client stays


class LocalServer:
    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[str] = []
        self.abandoned: list[str] = []  # paths whose client hung up before the answer ended
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def answer(
        self, path: str, body: bytes | str, status: int = 200, delay: float = 0.0, **headers: str
    ) -> str:
        data = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": "application/json", **headers}
        self.answers[path] = Answer(status, data, headers, delay=delay)
        return self.url(path)

    def drip(self, path: str, every: float = 1.0) -> str:
        """A 200 whose body never ends: one byte every `every` seconds until the client leaves."""
        headers = {"Content-Type": "application/json"}
        self.answers[path] = Answer(200, b"", headers, drip_every=every)
        return self.url(path)

    def hits(self, path: str) -> int:
        return self.requests.count(path)

    def _send(self, handler: BaseHTTPRequestHandler, path: str, answer: Answer) -> None:
        if answer.delay:
            self._stopping.wait(answer.delay)
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        if answer.drip_every is None:
            handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        try:
            if answer.drip_every is not None:
                while not self._stopping.wait(answer.drip_every):
                    handler.wfile.write(b" ")
                    handler.wfile.flush()
            for start in range(0, len(answer.body), CHUNK):
                handler.wfile.write(answer.body[start : start + CHUNK])
        except (BrokenPipeError, ConnectionResetError):
            self.abandoned.append(path)

    def wait_for_request(self, path: str, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.hits(path) < count:
            assert time.monotonic() < deadline, f"{path} was not requested {count} time(s)"
            time.sleep(0.01)

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.requests.append(self.path)
                answer = owner.answers.get(self.path, Answer(404, b"{}"))
                owner._send(self, self.path, answer)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server = self._server
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()  # ends drips and delays, so no handler outlives the test
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()

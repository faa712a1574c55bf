"""A local server that speaks enough of Slack's Web API for tests: it records what we send.

It answers `chat.postMessage`, `chat.update` and `chat.postEphemeral` like Slack does
(`{"ok": true, "ts": ..., "channel": ...}`), and can be told to fail the next N calls with an
HTTP 500 or a `ratelimited` 429, or to answer a method with a Slack error such as
`channel_not_found`.
"""

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

FAIL_SERVER_ERROR = "500"
FAIL_RATELIMITED = "ratelimited"


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]
    authorization: str | None


@dataclass
class FakeSlackState:
    calls: list[SlackCall] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"


class FakeSlackApi:
    """Handle on the running server for a test: its base URL, its recorded calls, its failures."""

    def __init__(self, server: ThreadingHTTPServer, state: FakeSlackState) -> None:
        self._server = server
        self.state = state
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}/api/"

    def fail_next(self, count: int, mode: str = FAIL_SERVER_ERROR) -> None:
        with self.state.lock:
            self.state.failures.extend([mode] * count)

    def answer_error(self, method: str, error: str) -> None:
        self.state.errors[method] = error

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self.state.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    @property
    def attempts(self) -> int:
        return self.state.attempts

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _dm_channel(channel: str) -> str:
    """Slack answers a post to a user id with the id of the DM channel it opened."""
    return "D" + channel[1:] if channel[:1] in ("U", "W") else channel


class _Handler(BaseHTTPRequestHandler):
    state: FakeSlackState  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_POST(self) -> None:
        method = self.path.rsplit("/", 1)[-1]
        params = self._params()
        with self.state.lock:
            self.state.attempts += 1
            failure = self.state.failures.pop(0) if self.state.failures else None
        if failure == FAIL_SERVER_ERROR:
            return self._send(500, b"upstream connect error", "text/plain")
        if failure == FAIL_RATELIMITED:
            body = {"ok": False, "error": "ratelimited"}
            return self._send(429, json.dumps(body).encode(), headers={"Retry-After": "1"})
        if method in self.state.errors:
            return self._send(
                200, json.dumps({"ok": False, "error": self.state.errors[method]}).encode()
            )
        with self.state.lock:
            self.state.calls.append(SlackCall(method, params, self.headers.get("Authorization")))
            ts = self.state.next_ts()
        answer = {"ok": True, "channel": _dm_channel(str(params.get("channel", ""))), "ts": ts}
        if method == "chat.update":
            answer["ts"] = params.get("ts")
        if method == "chat.postEphemeral":
            answer = {"ok": True, "message_ts": ts}
        self._send(200, json.dumps(answer).encode())

    def _params(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(raw or b"{}")
        params: dict[str, Any] = dict(parse_qsl(raw.decode()))
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def start_fake_slack() -> FakeSlackApi:
    state = FakeSlackState()
    handler = type("FakeSlackHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return FakeSlackApi(server, state)


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    api = start_fake_slack()
    try:
        yield api
    finally:
        api.close()

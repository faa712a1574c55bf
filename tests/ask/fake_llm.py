"""A tiny OpenAI-compatible chat-completions server on 127.0.0.1 for the LLM interpreter tests."""

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    """Answers every POST with `content` (a dict becomes JSON) or misbehaves as told."""

    def __init__(self) -> None:
        self.content: object = {"mappings": [], "unresolved": [], "on_behalf_of": None}
        self.status = 200
        self.delay = 0.0
        self.raw: bytes | None = None  # sent as the whole body when set
        self.requests: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        content = self.content if isinstance(self.content, str) else json.dumps(self.content)
        return json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": content}}]}
        ).encode()

    def start(self) -> "FakeLLM":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                owner.requests.append(
                    json.loads(self.rfile.read(length) or b"{}")
                    | {"_path": self.path, "_auth": self.headers.get("Authorization")}
                )
                time.sleep(owner.delay)
                body = owner.body()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may have given up already (the timeout tests).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

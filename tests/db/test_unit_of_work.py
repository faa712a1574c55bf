"""A request's unit of work commits before its response leaves the server."""

import socket
import threading
import time

import httpx
import uvicorn
from fastapi import FastAPI

from app.core.db import after_commit
from app.http.deps import SessionDep


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_response_is_sent_only_after_the_commit(client):
    # given a route whose commit is slow (an after-commit hook that takes 300 ms)
    committed: dict[str, float] = {}
    app = FastAPI()

    @app.post("/slow-commit")
    def slow_commit(session: SessionDep) -> dict[str, bool]:
        after_commit(session, lambda: (time.sleep(0.3), committed.setdefault("at", time.time())))
        return {"ok": True}

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        # when a real HTTP client calls it
        resp = httpx.post(f"http://127.0.0.1:{port}/slow-commit", timeout=5)
        received = time.time()
        # then the commit (and its hooks) finished before the client had its answer
        assert resp.status_code == 200
        assert "at" in committed and committed["at"] <= received
    finally:
        server.should_exit = True

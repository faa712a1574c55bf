"""Agents waiting on a request: while the database is busy, and when they hang up.

Ten thousand streams opening at once each read their request first; those reads must wait their
turn or be told to retry (503 with Retry-After), never fail with a 500 (README, Performance).
"""

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from app.core import events
from app.settings import get_settings
from tests import factories
from tests.helpers import assert_oauth_error
from tests.jit.conftest import PERMISSION


@contextmanager
def sqlite_write_lock() -> Iterator[None]:
    """Another connection holds SQLite's write lock (a long write transaction, a slow sweep)."""
    url = get_settings().database_url
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's database-wide write lock")
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def served(app, client) -> Iterator[str]:
    """The test app (started by `client`) also on a real socket, to hang up mid-stream."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _open_stream(address: str, path: str, bearer: str) -> socket.socket:
    host, port = address.split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    conn.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    return conn


def _read_until(conn: socket.socket, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = conn.recv(65536)
        assert chunk, f"the server closed the stream before {marker!r}: {seen!r}"
        seen += chunk
    return seen


def _wait_for_count(expected: int) -> None:
    deadline = time.monotonic() + 10
    while events.hub.subscriber_count() != expected:
        assert time.monotonic() < deadline, (events.hub.subscriber_count(), expected)
        time.sleep(0.02)


def test_stream_stops_watching_when_the_agent_hangs_up(served, jit, client, org, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    before = events.hub.subscriber_count()
    path = f"{org.api}/jit/requests/{request_id}/events"
    conn = _open_stream(served, path, agent.bearer(client)["Authorization"].split()[1])
    head = _read_until(conn, b'"status": "pending"')
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    _wait_for_count(before + 1)

    conn.close()

    _wait_for_count(before)  # without waiting for the next event or keep-alive


def test_waiters_are_answered_while_a_writer_holds_the_database(
    served, jit, client, org, agent, alice
):
    # A waiter only reads: it must not queue for the write lock (SQLite's busy timeout is 30 s,
    # then 503), as every stream of a burst did when its read took BEGIN IMMEDIATE.
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    url = f"{org.api}/jit/requests/{request_id}"
    with sqlite_write_lock():
        polled = client.get(url, params={"wait": 0}, headers=agent.bearer(client))
        conn = _open_stream(served, f"{url}/events", alice.api_token)
        head = _read_until(conn, b"\r\n\r\n")
        conn.close()

    assert polled.status_code == 200, polled.text
    assert polled.json()["status"] == "pending"
    assert head.startswith(b"HTTP/1.1 200"), head


@pytest.mark.parametrize("query", ["wait=61", "wait=-1", "wait=abc", "wait=1&wait=99"])
def test_a_wait_outside_0_to_60_is_refused_as_before(jit, client, org, agent, alice, query):
    # The lean path serves only a plain wait=0..60; anything else is the router's, validated
    # (and refused) exactly as the documented route always did.
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    url = f"{org.api}/jit/requests/{request_id}?{query}"
    assert_oauth_error(
        client.get(url, headers=agent.bearer(client)), 422, "invalid_request", "wait"
    )


def test_waiting_on_another_agents_request_is_404_on_the_lean_path(jit, client, org, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    other = factories.register_agent(client, org, capabilities=[PERMISSION])
    url = f"{org.api}/jit/requests/{request_id}"
    bearer = other.bearer(client)
    assert_oauth_error(client.get(url, params={"wait": 5}, headers=bearer), 404, "not_found")
    assert_oauth_error(client.get(f"{url}/events", headers=bearer), 404, "not_found")
    assert_oauth_error(client.get(f"{url}/events"), 401, "invalid_request")

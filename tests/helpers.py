"""Assertions and hand-made JWS pieces shared by the foundation tests."""

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import func, select

from tests.factories import OrgHandle


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value).encode())


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    """A compact JWS built by hand, so tests can send what no library would sign."""
    return f"{b64json(header)}.{b64json(payload)}.{b64url(signature)}"


def hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def assert_oauth_error(resp: Any, status: int, error: str, mentions: str | None = None) -> dict:
    """The status, the OAuth error body, and (optionally) the rule named in error_description."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    if mentions is not None:
        assert mentions in body["error_description"], body
    if status == 401:
        assert resp.headers.get("www-authenticate", "").startswith("Bearer"), resp.headers
    return body


def assert_rule(resp: Any, rule: str, *, status: int = 401, error: str = "invalid_client") -> dict:
    """A client assertion refused by the validator named `rule`."""
    return assert_oauth_error(resp, status, error, mentions=f"({rule})")


def issued_tokens(agent_id: str) -> int:
    from app.core import row_writer
    from app.core.db import session_scope
    from app.models import IssuedToken

    row_writer.rows.flush()  # standing tokens are recorded in batches
    with session_scope() as session:
        stmt = select(func.count()).select_from(IssuedToken).where(IssuedToken.agent_id == agent_id)
        return session.exec(stmt).one()


def audit_events(client: Any, org: OrgHandle, **filters: Any) -> list[dict[str, Any]]:
    """Every audit event matching filters, newest first (following next_cursor)."""
    wanted = filters.pop("limit", None)
    params, events = {"limit": min(wanted or 200, 200), **filters}, []
    while True:
        resp = client.get(f"{org.api}/audit", params=params, headers=org.admin)
        assert resp.status_code == 200, resp.text
        events += resp.json()["items"]
        cursor = resp.json()["next_cursor"]
        if cursor is None or (wanted is not None and len(events) >= wanted):
            return events[:wanted] if wanted is not None else events
        params["cursor"] = cursor


def token_refusals(client: Any, org: OrgHandle) -> list[dict[str, Any]]:
    events = audit_events(client, org, action="token.issue")
    return [e for e in events if e["outcome"] == "refused"]


def assert_nothing_issued(client: Any, org: OrgHandle, agent_id: str, rule: str | None = None):
    """No token row for the agent, and the audit trail shows the refusal (naming the rule)."""
    assert issued_tokens(agent_id) == 0
    refusals = token_refusals(client, org)
    assert refusals, "a refused token request is an audit event"
    if rule is not None:
        assert any(f"({rule})" in e["reason"] for e in refusals), refusals


@contextmanager
def jitgate_env(monkeypatch: Any, **env: str | None) -> Iterator[None]:
    """Run with other JITGATE_* values (None removes one); settings and engines are re-read
    inside and restored afterwards."""
    from app.core.db import get_engine, get_read_engine
    from app.settings import get_settings

    caches = (get_settings, get_engine, get_read_engine)
    names = [f"JITGATE_{name.upper()}" for name in env]
    before = {name: os.environ.get(name) for name in names}
    try:
        with monkeypatch.context() as patch:
            for name, value in env.items():
                if value is None:
                    patch.delenv(f"JITGATE_{name.upper()}", raising=False)
                else:
                    patch.setenv(f"JITGATE_{name.upper()}", value)
            for cache in caches:
                cache.cache_clear()
            yield
    finally:
        # Exactly as before, also a value the code under test set itself (`serve` names itself)
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        # Cleared only once the environment is restored: the session's app has threads (the row
        # writer, the worker) that read settings, and one of them reading between a clear and the
        # restore would keep this test's values for every later test of the process.
        for cache in caches:
            cache.cache_clear()


def queue_in_room(room, key: str | None, count: int) -> None:
    """Count `count` items as queued under `key` in a writer's room (app/core/room.py), as the
    writer does, under its lock (the writer thread changes the same counts)."""
    with room._lock:
        for _ in range(count):
            room.added(key)


def unqueue_from_room(room, key: str | None, count: int) -> None:
    with room._lock:
        for _ in range(count):
            room.removed(key)


async def post_until_it_waits_in_room(http, url: str, form: dict, room, key: str):
    """POST the form as a task of its own and return the task once the request waits for room
    under `key` (or after 3 s; the caller asserts what it expects)."""
    import asyncio

    task = asyncio.create_task(http.post(url, data=form))
    for _ in range(3000):
        if room._waiters.get(key):
            break
        await asyncio.sleep(0.001)
    return task


def fill_orgs_share(monkeypatch, org_id: str, *, timeout: float):
    """The audit queue with a bound of 100, the org's events at that whole share (the writer
    behind), and waits refused after `timeout` s with no batch written; returns the room. The
    caller gives the share back with unqueue_from_room(room, org_id, 100)."""
    from app.audit import service as audit

    room = audit.writer._room
    monkeypatch.setattr(audit.writer, "bound", 100)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", timeout)
    queue_in_room(room, org_id, 100)
    return room

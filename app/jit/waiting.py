"""Agents waiting on a JIT request: the long-poll and the Server-Sent Events stream.

Ten thousand agents may wait at once on one web process, so a waiter holds as little as it can
while it waits: a Watch on the request's topic (a flag and at most one future, app/core/events),
a timer handle, the ASGI scope, and no view of the request (it is read again when something
changed). Reads authenticate the caller every time (a revoked token or a suspended agent stops
being answered), take the database's read path, and queue for a few reader threads in the event
loop, where a queued waiter costs a coroutine, not a thread blocked on the connection pool.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from fastapi.encoders import jsonable_encoder
from sqlmodel import Session
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.approvers import scope as approver_scope
from app.core import events
from app.core.db import read_session
from app.core.errors import JitgateError, NotFound
from app.http.deps import Principal, find_principal
from app.identity.access_tokens import issuer_for
from app.jit import state_machine as jit
from app.jit import views as jit_views
from app.jit.status import FINAL, RequestStatus

SSE_MAX_SECONDS = 600
SSE_KEEPALIVE_SECONDS = 15
KEEPALIVE = b": keep-alive\n\n"
# Fewer than either database pool's connections (SQLite 80, PostgreSQL 30): a burst of waiters
# opening at once queues here, in the event loop, and never times out waiting for the pool.
_readers = anyio.CapacityLimiter(8)


def _authorize_read(session: Session, principal: Principal, row: Any) -> None:
    if principal.kind == "agent" and row.agent_id != principal.id:
        raise NotFound(f"no JIT request {row.id} in this organization")
    bound_to = principal.agent.claims["aud"] if principal.agent else None
    if bound_to not in (None, row.resource, issuer_for(row.org_id)):
        raise NotFound(f"no JIT request {row.id} for {bound_to}")  # a server sees its own only
    if principal.approver is not None:
        approver_scope.ensure_may_see(session, principal.approver, row)


def _load(org_id: str, request_id: str, token: str) -> tuple[dict[str, Any], bool]:
    """Authenticate, load, render: one short read, never held open while waiting."""
    principal = find_principal(org_id, token, resource_bound=True)
    with read_session() as session:  # SQLite: a WAL reader, which never takes the write lock
        row = jit.get_request(session, org_id=org_id, request_id=request_id)
        _authorize_read(session, principal, row)
        view = jit_views.public(
            session, row, for_agent_id=principal.id if principal.agent else None
        )
    waiting_for_token = (
        principal.kind == "agent"
        and view["status"] == RequestStatus.APPROVED
        and "token" not in view
    )
    return view, view["status"] != RequestStatus.PENDING and not waiting_for_token


async def read(org_id: str, request_id: str, token: str) -> tuple[dict[str, Any], bool]:
    """The request as the caller may see it, and whether it is settled for them."""
    return await anyio.to_thread.run_sync(_load, org_id, request_id, token, limiter=_readers)


async def long_poll(org_id: str, request_id: str, token: str, wait: int) -> dict[str, Any]:
    """The request, once it leaves `pending` (or is approved with the agent's token) or after
    `wait` seconds. Events are hints (lost while Redis is down): the row is the truth, so it is
    read again after every event and at the deadline."""
    view, settled = await read(org_id, request_id, token)
    if not wait or settled:
        return view
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    with events.hub.watch(events.request_topic(request_id)) as watch:
        del view  # what the agent gets is read after the wait
        view, settled = await read(org_id, request_id, token)  # what changed before the watch
        while not settled and (remaining := deadline - loop.time()) > 0:
            del view
            await watch.wait(remaining)
            view, settled = await read(org_id, request_id, token)
    return view


async def open_stream(org_id: str, request_id: str, token: str) -> "EventStream":
    """Authenticate and read the request now (errors are answered as errors), watching it from
    before that read, so no change between the read and the first wait is missed."""
    topic = events.request_topic(request_id)
    watch = events.hub.add_watch(topic)
    try:
        first, _ = await read(org_id, request_id, token)
    except BaseException:
        events.hub.drop_watch(topic, watch)
        raise
    return EventStream(org_id, request_id, token, watch, _event(first))


def _event(view: dict[str, Any]) -> tuple[tuple[str, bool], bytes]:
    """The marker that says whether the agent has seen this state, and the SSE event for it."""
    data = json.dumps(jsonable_encoder(view))
    return (view["status"], "token" in view), f"event: status\ndata: {data}\n\n".encode()


class EventStream(Response):
    """`GET …/events`: one `status` event per change, a comment every 15 s while nothing changes.

    It writes to the ASGI `send` itself: StreamingResponse ran two tasks per stream (the body
    and a disconnect listener) in a task group. Here one small task waits for the disconnect
    and wakes the stream, which then ends and drops its watch at once.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        org_id: str,
        request_id: str,
        token: str,
        watch: events.Watch,
        first: tuple[tuple[str, bool], bytes],
    ) -> None:
        self.status_code, self.background = 200, None
        self.init_headers({"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self._where = (org_id, request_id, token)
        self._watch: events.Watch | None = watch
        self._first: tuple[tuple[str, bool], bytes] | None = first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        org_id, request_id, token = self._where
        watch, self._watch = self._watch, None
        assert watch is not None and self._first is not None, "an EventStream is sent once"
        gone = asyncio.ensure_future(_disconnected(receive))
        gone.add_done_callback(lambda _: watch.fire())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            # The first event leaves self with the call: the stream keeps no bytes it has sent.
            first, self._first = [self._first], None
            await _stream(send, watch, gone, first, lambda: read(org_id, request_id, token))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()
            events.hub.drop_watch(events.request_topic(request_id), watch)


async def _stream(
    send: Send,
    watch: events.Watch,
    gone: asyncio.Future[None],
    first: list[tuple[tuple[str, bool], bytes]],
    reread: Callable[[], Awaitable[tuple[dict[str, Any], bool]]],
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SSE_MAX_SECONDS
    (marker, data), last = first.pop(), None
    while True:
        if marker != last:
            last = marker
            await send({"type": "http.response.body", "body": data, "more_body": True})
        data = b""  # not kept while waiting
        if marker[0] in FINAL or loop.time() > deadline or gone.done():
            return
        if not await watch.wait(SSE_KEEPALIVE_SECONDS):
            await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
            continue
        if gone.done():
            return
        try:
            view, _ = await reread()
        except JitgateError:  # the token was revoked, the agent suspended: nothing more to say
            return
        marker, data = _event(view)
        del view


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

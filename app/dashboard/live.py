"""The dashboard's WebSocket: org events from the hub, forwarded to one signed-in browser.

Events arrive through app.services.events (Redis pub/sub in production), so a decision taken
in any web process or worker reaches every open dashboard. Only the event type and request id
go to the browser; it re-fetches what it shows over HTTP, with its cookie, as any page load.
"""

import asyncio
import contextlib
import time

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.approvers import scope as approver_scope
from app.approvers.lifecycle import approver_topic
from app.core import events
from app.core.db import get_engine
from app.dashboard import session as sessions
from app.models import Approver, JitRequest

KEEPALIVE_SECONDS = 25.0
POLICY_VIOLATION = 1008
PING: dict = {"type": "ping"}  # the keepalive, sent only while the session still holds


def _approver_matches(state: sessions.SessionState) -> bool:
    with Session(get_engine()) as session:
        return sessions.approver_holds(state, session.get(Approver, state.approver))


async def authenticate(websocket: WebSocket) -> sessions.SessionState | None:
    """The session behind a WebSocket handshake, checked like a page load plus its Origin."""
    if not sessions.origin_allowed(websocket.headers.get("origin"), required=True):
        return None
    state = sessions.decode(websocket.cookies.get(sessions.COOKIE))
    if state is None or not await run_in_threadpool(_approver_matches, state):
        return None
    return state


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the browser sends, so a disconnect is noticed at once."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


def _check(state: sessions.SessionState, request_id: object) -> tuple[bool, bool]:
    """(still signed in, may see this request): one short read before every push, so a session
    that ended (signed out, expired, approver disabled or re-tokened) never gets another event,
    and an approver hears only about requests they may see (app/services/approver_scope.py)."""
    if state.expired() or sessions.is_logged_out(state):
        return False, False
    with Session(get_engine()) as session:
        approver = session.get(Approver, state.approver)
        if not sessions.approver_holds(state, approver):
            return False, False
        assert approver is not None
        row = session.get(JitRequest, request_id) if isinstance(request_id, str) else None
        return True, row is not None and approver_scope.may_see(session, approver, row)


async def _push(websocket: WebSocket, state: sessions.SessionState, event: dict) -> bool:
    """Forward one event if the session still holds and may see it; False once it has ended."""
    signed_in, visible = await run_in_threadpool(_check, state, event.get("request_id"))
    if not signed_in:
        await websocket.close(code=POLICY_VIOLATION, reason="session ended")
        return False
    if visible or event is PING:
        await websocket.send_json(
            {"type": str(event.get("type", "")), "request_id": event.get("request_id")}
        )
    return True


async def serve(websocket: WebSocket, state: sessions.SessionState) -> None:
    """Forward the org's events until the browser leaves or the session ends.

    Besides the org's events, the socket listens on its session's topic (sign-out) and its
    approver's (disabled, deleted, token rotated): those carry no request and only make the
    session be checked again, which closes the socket at once."""
    topics = (
        events.org_topic(state.org),
        sessions.session_topic(state),
        approver_topic(state.approver),
    )
    async with events.hub.subscribe(*topics) as queue:
        closed = asyncio.create_task(_until_closed(websocket))
        try:
            while not closed.done():
                getter = asyncio.ensure_future(queue.get())
                timeout = max(min(KEEPALIVE_SECONDS, state.exp - time.time()), 0.0)
                done, _ = await asyncio.wait(
                    {getter, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    if not await _push(websocket, state, getter.result()):
                        break
                    continue
                getter.cancel()
                if closed.done():
                    break
                if not await _push(websocket, state, PING):
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass  # the browser went away between two sends
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await closed

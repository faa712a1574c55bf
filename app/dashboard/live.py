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

from app.dashboard import session as sessions
from app.db import get_engine
from app.models import Approver
from app.security.secrets import constant_time_equal
from app.services import events

KEEPALIVE_SECONDS = 25.0
POLICY_VIOLATION = 1008


def _approver_matches(state: sessions.SessionState) -> bool:
    with Session(get_engine()) as session:
        approver = session.get(Approver, state.approver)
        return (
            approver is not None
            and approver.org_id == state.org
            and constant_time_equal(sessions.token_fingerprint(approver.token_hash), state.tok)
        )


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


async def _still_signed_in(state: sessions.SessionState) -> bool:
    if state.expired():
        return False
    return not await run_in_threadpool(sessions.is_logged_out, state)


async def serve(websocket: WebSocket, state: sessions.SessionState) -> None:
    """Forward the org's events until the browser leaves or the session ends."""
    async with events.hub.subscribe(events.org_topic(state.org)) as queue:
        closed = asyncio.create_task(_until_closed(websocket))
        try:
            while not closed.done():
                getter = asyncio.ensure_future(queue.get())
                timeout = max(min(KEEPALIVE_SECONDS, state.exp - time.time()), 0.0)
                done, _ = await asyncio.wait(
                    {getter, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    event = getter.result()
                    await websocket.send_json(
                        {"type": str(event.get("type", "")), "request_id": event.get("request_id")}
                    )
                    continue
                getter.cancel()
                if closed.done():
                    break
                if not await _still_signed_in(state):
                    await websocket.close(code=POLICY_VIOLATION, reason="session ended")
                    break
                await websocket.send_json({"type": "ping"})
        except (WebSocketDisconnect, RuntimeError):
            pass  # the browser went away between two sends
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await closed

"""The WebSocket: authenticated by the session cookie, Origin checked, org events forwarded."""

import pytest
from starlette.websockets import WebSocketDisconnect

from app.dashboard import session as sessions
from tests.dashboard.conftest import ORIGIN, ask


def cookie_of(browser) -> dict[str, str]:
    return {"Cookie": f"{sessions.COOKIE}={browser.cookies.get(sessions.COOKIE)}"}


def refused_code(browser, headers: dict[str, str]) -> int:
    with pytest.raises(WebSocketDisconnect) as refused:  # noqa: SIM117 - the connect must raise
        with browser.websocket_connect("/dashboard/ws", headers=headers):
            pass
    return refused.value.code


def test_websocket_forwards_new_requests_of_the_org(client, signed_in, team):
    headers = {"Origin": ORIGIN, **cookie_of(signed_in)}
    with signed_in.websocket_connect("/dashboard/ws", headers=headers) as ws:
        request_id = ask(client, team)["request_id"]
        event = ws.receive_json()
    assert event == {"type": "request.created", "request_id": request_id}


def test_websocket_without_session_is_refused(browser):
    assert refused_code(browser, {"Origin": ORIGIN}) == 1008


def test_websocket_from_another_origin_is_refused(signed_in):
    headers = {"Origin": "http://evil.example", **cookie_of(signed_in)}
    assert refused_code(signed_in, headers) == 1008


def test_websocket_without_origin_is_refused(signed_in):
    assert refused_code(signed_in, cookie_of(signed_in)) == 1008


def test_websocket_hears_events_from_other_processes_but_only_its_orgs(client, signed_in, team):
    """The Redis listener feeds the hub from another thread; other orgs' events stay out."""
    import threading

    from app.core import events

    def publish(org_id: str, request_id: str) -> None:
        payload = {"type": "request.updated", "request_id": request_id, "org_id": org_id}
        listener = threading.Thread(
            target=events.hub.deliver, args=(events.org_topic(org_id), payload)
        )
        listener.start()
        listener.join()

    ours = ask(client, team)["request_id"]  # a real request: sockets hear only what they may see
    headers = {"Origin": ORIGIN, **cookie_of(signed_in)}
    with signed_in.websocket_connect("/dashboard/ws", headers=headers) as ws:
        publish("org_someone_else", "jit_theirs")
        publish(team.org.org_id, ours)
        # The worker's own announcement of the new request may come first: read past it.
        heard = [ws.receive_json()]
        while heard[-1]["type"] != "request.updated" and len(heard) < 5:
            heard.append(ws.receive_json())
    assert heard[-1] == {"type": "request.updated", "request_id": ours}
    assert all(event["request_id"] == ours for event in heard)  # never the other org's

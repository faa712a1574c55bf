"""Dashboard sessions end the moment their approver is disabled, deleted or re-tokened, and
an open WebSocket stops delivering at sign-out (issue 18 findings 7 and 9, issue 10 item 6)."""

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.dashboard.conftest import ORIGIN, ask, csrf_from, login
from tests.dashboard.test_live import cookie_of, refused_code

SESSION_ENDED = 1008


def _change(client, team, **changes) -> None:
    url = f"{team.org.api}/approvers/{team.approver['approver_id']}"
    resp = client.patch(url, json=changes, headers=team.org.admin)
    assert resp.status_code == 200, resp.text


def _delete(client, team) -> None:
    url = f"{team.org.api}/approvers/{team.approver['approver_id']}"
    assert client.delete(url, headers=team.org.admin).status_code == 200


def _rotate(client, team) -> None:
    url = f"{team.org.api}/approvers/{team.approver['approver_id']}/rotate-token"
    assert client.post(url, headers=team.org.admin).status_code == 200


ENDINGS = {
    "disabled": lambda client, team: _change(client, team, status="disabled"),
    "deleted": _delete,
    "token rotated": _rotate,
}


def next_is_close(ws) -> int:
    """The socket's next message must be its close frame; an event instead fails the test."""
    with pytest.raises(WebSocketDisconnect) as closed:
        message = ws.receive_json()
        pytest.fail(f"still delivering after the session ended: {message}")
    return closed.value.code


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_an_open_session_ends_at_once(client, signed_in, team, ending):
    assert signed_in.get("/dashboard/pending").status_code == 200

    ENDINGS[ending](client, team)

    resp = signed_in.get("/dashboard/pending")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/dashboard/login")


def test_a_disabled_approver_cannot_decide_on_the_dashboard(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    csrf = csrf_from(signed_in)
    _change(client, team, status="disabled")

    resp = signed_in.post(f"/dashboard/requests/{request_id}/approve", data={"csrf_token": csrf})

    assert resp.status_code == 303 and resp.headers["location"].startswith("/dashboard/login")
    status = client.get(f"{team.org.api}/jit/requests/{request_id}", headers=team.org.admin)
    assert status.json()["status"] == "pending"


def test_a_disabled_approver_cannot_sign_in_again(client, browser, team):
    _change(client, team, status="disabled")

    assert login(browser, team.token).status_code == 401


def test_a_disabled_approver_s_websocket_is_refused(client, signed_in, team):
    headers = {"Origin": ORIGIN, **cookie_of(signed_in)}
    _change(client, team, status="disabled")

    assert refused_code(signed_in, headers) == SESSION_ENDED


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_an_open_websocket_closes_when_its_approver_is_stopped(client, signed_in, team, ending):
    headers = {"Origin": ORIGIN, **cookie_of(signed_in)}
    with signed_in.websocket_connect("/dashboard/ws", headers=headers) as ws:
        ENDINGS[ending](client, team)
        ask(client, team)
        assert next_is_close(ws) == SESSION_ENDED


def test_signing_out_closes_the_open_websocket(client, signed_in, team):
    headers = {"Origin": ORIGIN, **cookie_of(signed_in)}
    with signed_in.websocket_connect("/dashboard/ws", headers=headers) as ws:
        logout = signed_in.post(
            "/dashboard/logout", data={"csrf_token": csrf_from(signed_in)}, headers=headers
        )
        assert logout.status_code == 303
        ask(client, team)  # an event after sign-out must not reach the socket
        assert next_is_close(ws) == SESSION_ENDED


def test_websocket_forwards_only_requests_the_approver_may_see(client, signed_in, team):
    from tests.dashboard.test_approver_scope import other_teams_request

    headers = {"Origin": ORIGIN, **cookie_of(signed_in)}
    with signed_in.websocket_connect("/dashboard/ws", headers=headers) as ws:
        other_teams_request(client, team)
        ours = ask(client, team)["request_id"]
        event = ws.receive_json()
    # The other team's request and its denial came first; neither reached this socket.
    assert event == {"type": "request.created", "request_id": ours, "status": "pending"}

"""A real server process, stopped and started again on the same database (embedded mode, no
Redis): whatever was signed out, used or revoked before the restart stays so after it.

One server serves the whole module: the fixture uses each credential once (and checks it is
refused before the restart), restarts the server, and each test then tries one again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from aiosmtpd.controller import Controller
from live_server import LiveServer, free_port, restart_server, start_server

from jitgate import SyncAgentAuth
from jitgate.assertion import generate_key
from jitgate.demo import Admin
from tests.fakes.smtp import CapturingHandler

PERMISSION = "payments.authorize"
OPERATION = {"invoice": "INV-9", "amount": 90}
SLACK_SECRET = "restart-tests-slack-signing-secret"
WAIT_SECONDS = 60  # generous: a busy 2-core machine may take a while to send a mail


@dataclass
class Used:
    """Credentials used, signed out or revoked before the restart."""

    server: LiveServer
    signed_out_cookie: str
    sign_in_link: str
    approve_link: str
    agent: SyncAgentAuth
    consumed_jit_token: str
    revoked_access_token: str
    slack_body: bytes
    slack_headers: dict[str, str]


def _wait_for(what: str, found: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while (value := found()) is None:
        assert time.monotonic() < deadline, f"no {what} within {WAIT_SECONDS}s"
        time.sleep(0.2)
    return value


def _link(smtp: CapturingHandler, pattern: str) -> Callable[[], str | None]:
    def find() -> str | None:
        for message in list(smtp.messages):
            text = message.get_body(("plain",)).get_content()
            if match := re.search(pattern, text):
                return match.group(1)
        return None

    return find


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name} in {html[:500]}"
    return match.group(1)


def _browser(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Origin": server.base_url}, timeout=30)


def _login_form_nonce(browser: httpx.Client, path: str = "/dashboard/login") -> str:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return _hidden(page.text, "login_csrf")


def _sign_in_and_out(server: LiveServer, approver_token: str) -> str:
    with _browser(server) as browser:
        nonce = _login_form_nonce(browser)
        signed = browser.post(
            "/dashboard/login", data={"token": approver_token, "login_csrf": nonce}
        )
        assert signed.status_code == 303, signed.text
        cookie = browser.cookies["jitgate_dashboard"]
        csrf = _hidden(browser.get("/dashboard/pending").text, "csrf_token")
        assert browser.post("/dashboard/logout", data={"csrf_token": csrf}).status_code == 303
    assert _dashboard_with(server, cookie).status_code == 303  # refused before the restart
    return cookie


def _dashboard_with(server: LiveServer, cookie: str) -> httpx.Response:
    with _browser(server) as browser:
        browser.cookies.set("jitgate_dashboard", cookie)
        return browser.get("/dashboard/pending")


def _post_link(server: LiveServer, path: str) -> httpx.Response:
    with _browser(server) as browser:
        nonce = _login_form_nonce(browser, path)
        return browser.post(path, data={"login_csrf": nonce})


def _use_sign_in_link(server: LiveServer, smtp: CapturingHandler, email: str) -> str:
    with _browser(server) as browser:
        nonce = _login_form_nonce(browser)
        asked = browser.post("/dashboard/login/email", data={"email": email, "login_csrf": nonce})
        assert asked.status_code == 200, asked.text
    path = _wait_for("sign-in link", _link(smtp, r"http://[^/\s]+(/dashboard/login/link/\S+)"))
    assert _post_link(server, path).status_code == 303  # signed in once
    assert _post_link(server, path).status_code == 409  # and refused before the restart
    return path


def _approve_by_email(server: LiveServer, smtp: CapturingHandler) -> str:
    # The org's only JIT request: its mail carries the only approve link.
    path = _wait_for("approve link", _link(smtp, r"Approve: http://[^/\s]+(/approve-link/\S+)"))
    with _browser(server) as browser:
        assert browser.get(path).status_code == 200  # the confirmation page
        decided = browser.post(path, data={"note": "fine"})
        assert decided.status_code == 200, decided.text
        assert browser.post(path, data={"note": "again"}).status_code == 409
    return path


def _slack_request(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(SLACK_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _post_slack(server: LiveServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    url = f"{server.base_url}/integrations/slack/interactions"
    return httpx.post(url, content=body, headers=headers, timeout=30)


def _setup_org(admin: Admin) -> tuple[dict[str, Any], dict[str, Any], str]:
    """An approver, a JIT policy announced by email, and an agent that may ask for it."""
    approver = admin.add_approver(f"approver-{secrets.token_hex(3)}@example.com")
    admin.call(
        "POST",
        "policies",
        json={
            "permission": PERMISSION,
            "mode": "jit",
            "approvers": [approver["approver_id"]],
            "channels": ["email"],
        },
    )
    pem, jwks = generate_key()
    agent = admin.register_agent(
        f"restart-{secrets.token_hex(3)}", ["document.read", PERMISSION], jwks
    )
    return approver, agent, pem


def _consume_jit_token(
    server: LiveServer, auth: SyncAgentAuth, smtp: CapturingHandler
) -> tuple[str, str]:
    pending = auth.request_jit_permission(PERMISSION, "pay INV-9", "10m", OPERATION, wait=False)
    approve_link = _approve_by_email(server, smtp)
    approval = auth.wait_for_approval(pending.request_id, timeout=WAIT_SECONDS)
    assert approval.granted and approval.token, approval
    assert auth.consume_jit_token(approval.token, PERMISSION, OPERATION)["valid"]
    assert _as_bearer(server, approval.token).status_code == 401  # refused before the restart
    return approve_link, approval.token


def _as_bearer(server: LiveServer, token: str) -> httpx.Response:
    # /agents/ask, not /authz/check: a JIT token is also its own redemption at the latter.
    url = f"{server.base_url}/orgs/{server.org_id}/api/v1/agents/ask"
    body = {"question": "Can I read documents?"}
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _revoke_access_token(server: LiveServer, admin: Admin, auth: SyncAgentAuth) -> str:
    token = auth.get_access_token(["document.read"])
    assert _as_bearer(server, token).status_code == 200
    admin.call("POST", "oauth/revoke", data={"token": token})
    assert _as_bearer(server, token).status_code == 401  # refused before the restart
    auth.invalidate_tokens()  # the SDK must not hand the revoked token out again
    return token


def _use_slack_interaction(server: LiveServer) -> tuple[bytes, dict[str, str]]:
    # A signed interaction that decides nothing: its replay is refused by the replay check
    # alone, not by a request already being decided.
    payload = {"type": "block_actions", "actions": [], "nonce": secrets.token_hex(8)}
    body = ("payload=" + quote(json.dumps(payload))).encode()
    headers = _slack_request(body)
    assert _post_slack(server, body, headers).status_code == 200
    assert _post_slack(server, body, headers).status_code == 401  # refused before the restart
    return body, headers


@pytest.fixture(scope="module")
def used(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Used]:
    workdir: Path = tmp_path_factory.mktemp("restart")
    smtp = CapturingHandler()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {
        "JITGATE_SMTP_HOST": "127.0.0.1",
        "JITGATE_SMTP_PORT": str(controller.port),
        "JITGATE_SLACK_SIGNING_SECRET": SLACK_SECRET,
    }
    server = start_server(workdir=workdir, extra_env=env)
    try:
        admin = Admin(server.base_url, server.org_id, server.admin_token)
        approver, agent, pem = _setup_org(admin)
        auth = SyncAgentAuth(server.base_url, server.org_id, agent["agent_id"], pem)
        approve_link, jit_token = _consume_jit_token(server, auth, smtp)
        slack_body, slack_headers = _use_slack_interaction(server)
        before = Used(
            server=server,
            signed_out_cookie=_sign_in_and_out(server, approver["api_token"]),
            sign_in_link=_use_sign_in_link(server, smtp, approver["email"]),
            approve_link=approve_link,
            agent=auth,
            consumed_jit_token=jit_token,
            revoked_access_token=_revoke_access_token(server, admin, auth),
            slack_body=slack_body,
            slack_headers=slack_headers,
        )
        server = restart_server(server, workdir, env)
        before.server = server
        yield before
    finally:
        server.stop()
        controller.stop()


def test_signed_out_dashboard_cookie_is_refused_after_a_restart(used: Used):
    page = _dashboard_with(used.server, used.signed_out_cookie)
    assert page.status_code == 303 and page.headers["location"].startswith("/dashboard/login")


def test_used_email_sign_in_link_is_refused_after_a_restart(used: Used):
    again = _post_link(used.server, used.sign_in_link)
    assert again.status_code == 409 and "already used" in again.text


def test_used_email_approve_link_is_refused_after_a_restart(used: Used):
    with _browser(used.server) as browser:
        again = browser.post(used.approve_link, data={"note": "once more"})
    assert again.status_code == 409


def test_consumed_jit_token_cannot_be_consumed_again_after_a_restart(used: Used):
    url = f"{used.server.base_url}/orgs/{used.server.org_id}/api/v1/jit/tokens/consume"
    body = {"token": used.consumed_jit_token, "permission": PERMISSION, "operation": OPERATION}
    bearer = {"Authorization": f"Bearer {used.agent.get_access_token(['document.read'])}"}
    again = httpx.post(url, json=body, headers=bearer, timeout=30)
    assert again.status_code == 409, again.text


def test_consumed_jit_token_is_refused_as_a_bearer_after_a_restart(used: Used):
    again = _as_bearer(used.server, used.consumed_jit_token)
    assert again.status_code == 401, again.text


def test_revoked_access_token_stays_revoked_after_a_restart(used: Used):
    again = _as_bearer(used.server, used.revoked_access_token)
    assert again.status_code == 401, again.text
    assert again.json()["error_description"] == "the access token has been revoked"


def test_replayed_slack_interaction_is_refused_after_a_restart(used: Used):
    again = _post_slack(used.server, used.slack_body, used.slack_headers)
    assert again.status_code == 401, again.text
    assert again.json()["error"] == "replayed_request"

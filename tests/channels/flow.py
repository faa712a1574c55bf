"""Steps shared by the channel flow tests, through the contract's HTTP API."""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from tests import factories

PERMISSION = "payments.authorize"
OPERATION = {"amount": 4200, "currency": "EUR", "order": "1234"}
INTERACTIONS_URL = "/integrations/slack/interactions"


def add_approver(client: Any, org: factories.OrgHandle, name: str, **extra: Any) -> dict:
    body = {"email": f"{name}@example.com", "name": name.title(), **extra}
    resp = client.post(f"{org.api}/approvers", json=body, headers=org.admin)
    assert resp.status_code == 201, resp.text
    return resp.json()


def ask(client: Any, agent: factories.AgentHandle) -> dict:
    body = {
        "permission": PERMISSION,
        "justification": "Refund order 1234 as the customer asked",
        "expires_in": "10m",
        "operation": OPERATION,
    }
    resp = client.post(f"{agent.org.api}/jit/requests", json=body, headers=agent.bearer(client))
    assert resp.status_code == 202, resp.text
    return resp.json()


def status_of(client: Any, org: factories.OrgHandle, request_id: str) -> dict:
    resp = client.get(f"{org.api}/jit/requests/{request_id}", headers=org.admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_for(found: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until found() is truthy: the embedded worker delivers in the background."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the background delivery")


def click_body(button_value: str, *, user: str, action: str, channel: str = "C0APPROVE") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": "1", "channel_id": channel},
        "response_url": "https://hooks.slack.test/actions/1",
        "actions": [{"action_id": action, "value": button_value, "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_headers(body: bytes, secret: str, *, timestamp: float | None = None) -> dict[str, str]:
    ts = str(int(time.time() if timestamp is None else timestamp))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }

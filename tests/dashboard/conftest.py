"""Fixtures for the dashboard: an approver with a JIT policy, a browser-like client, sign-in."""

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.fakes.smtp import smtp_server  # noqa: F401 - a fixture for the sign-in link tests

PERMISSION = "payments.authorize"
OPERATION = {"amount": 4200, "currency": "EUR", "order": "1234"}
ORIGIN = "http://testserver"


@dataclass
class Team:
    org: factories.OrgHandle
    agent: factories.AgentHandle
    approver: dict[str, Any]
    other_approver: dict[str, Any]

    @property
    def token(self) -> str:
        return self.approver["api_token"]


def add_approver(client: Any, org: factories.OrgHandle, name: str) -> dict[str, Any]:
    # The test database is shared by every test: an address names one approver only here.
    body = {"email": f"{name}-{uuid.uuid4().hex[:8]}@example.com", "name": name.title()}
    resp = client.post(f"{org.api}/approvers", json=body, headers=org.admin)
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def team(client, org) -> Team:
    agent = factories.register_agent(
        client, org, capabilities=[PERMISSION], owner="owner@example.com"
    )
    alice = add_approver(client, org, "alice")
    bob = add_approver(client, org, "bob")
    factories.set_policy(
        client, org, PERMISSION, "jit", approvers=[alice["approver_id"], bob["approver_id"]]
    )
    return Team(org=org, agent=agent, approver=alice, other_approver=bob)


@pytest.fixture
def browser(app, client) -> TestClient:
    """A client with its own cookie jar (the shared `client` started the app)."""
    return TestClient(app, base_url=ORIGIN, follow_redirects=False)


def ask(
    client: Any, team: Team, agent: factories.AgentHandle | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "permission": PERMISSION,
        "justification": "Refund order 1234 as the customer asked",
        "expires_in": "10m",
        "operation": OPERATION,
        **extra,
    }
    agent = agent or team.agent
    resp = client.post(f"{team.org.api}/jit/requests", json=body, headers=agent.bearer(client))
    assert resp.status_code == 202, resp.text
    return resp.json()


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def login(browser: TestClient, token: str) -> Any:
    form = browser.get("/dashboard/login")
    assert form.status_code == 200, form.text
    data = {"token": token, "login_csrf": hidden(form.text, "login_csrf"), "next": ""}
    return browser.post("/dashboard/login", data=data, headers={"Origin": ORIGIN})


@pytest.fixture
def signed_in(browser, team) -> TestClient:
    resp = login(browser, team.token)
    assert resp.status_code == 303, resp.text
    return browser


def csrf_from(browser: TestClient, path: str = "/dashboard/pending") -> str:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return hidden(page.text, "csrf_token")

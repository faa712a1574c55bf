"""Fixtures for the admin portal: a browser-like client and signing in with an admin token."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.conftest import ORIGIN, hidden


@pytest.fixture
def browser(app, client) -> TestClient:
    """A client with its own cookie jar (the shared `client` started the app)."""
    return TestClient(app, base_url=ORIGIN, follow_redirects=False)


def admin_login(browser: TestClient, token: str) -> Any:
    form = browser.get("/admin/login")
    assert form.status_code == 200, form.text
    data = {"token": token, "login_csrf": hidden(form.text, "login_csrf")}
    return browser.post("/admin/login", data=data, headers={"Origin": ORIGIN})


@pytest.fixture
def admin(browser, org) -> TestClient:
    resp = admin_login(browser, org.admin_token)
    assert resp.status_code == 303, resp.text
    return browser


def csrf_of(browser: TestClient, path: str = "/admin/overview") -> str:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return hidden(page.text, "csrf_token")


def post(browser: TestClient, path: str, data: dict[str, Any]) -> Any:
    """A form post as the browser sends it: this session's CSRF token and our Origin."""
    return browser.post(
        path, data={"csrf_token": csrf_of(browser), **data}, headers={"Origin": ORIGIN}
    )

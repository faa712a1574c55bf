"""The admin portal in a real browser at phone width: an org set up from nothing, by clicking.

Given a jitgate server (uvicorn in a subprocess, its own SQLite database) and only the org's
admin token, an admin in headless Chromium at 390 px signs in, registers an agent with a pasted
JWKS (a wrong one first, whose error appears next to the field), adds an approver and sees its
token once, and makes the agent's permission JIT; then the agent gets a token with its key and
asks, and the request reaches the approver's dashboard, whose page disables its buttons when
the agent cancels. A form stripped of its CSRF token is refused.
"""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.live_org import LiveOrg
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.sdk.live_server import LiveServer, start_server

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 844}
PERMISSION = "payments.refund"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(workdir=tmp_path)
    yield live
    live.stop()


def shot(page, tmp_path: Path, name: str) -> None:
    """README pictures are refreshed only on request (JITGATE_UPDATE_SCREENSHOT=1)."""
    where = DOCS if os.environ.get("JITGATE_UPDATE_SCREENSHOT") == "1" else tmp_path
    page.screenshot(path=str(where / f"admin-{name}.png"), full_page=True)


def sign_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/overview")


def register_agent(page, base: str, jwks: str) -> str:
    page.goto(f"{base}/admin/agents")
    page.fill("#f-name", "refund-bot")
    page.fill("#f-capabilities", f"{PERMISSION} document.read")
    page.fill("#f-jwks", jwks)
    page.fill("#f-owner", "ops@example.com")
    page.click("#register button.primary")
    page.wait_for_load_state()
    return page.url


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_admin_sets_up_an_org_in_the_browser_and_a_jit_request_reaches_the_dashboard(
    server, tmp_path
):
    from playwright.sync_api import sync_playwright

    base = server.base_url
    org = LiveOrg(f"{base}/orgs/{server.org_id}/api/v1", server.admin_token)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PHONE)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            sign_in(page, base, server.admin_token)
            assert fits_the_screen(page)
            shot(page, tmp_path, "overview")

            # A JWKS carrying a private key: the API's refusal is shown next to the field
            leaky = org.public_jwks()
            leaky["keys"][0]["d"] = "c2VjcmV0"
            register_agent(page, base, json.dumps(leaky))
            assert "private" in page.inner_text("#e-jwks")
            assert page.input_value("#f-name") == "refund-bot"  # what was typed is kept
            shot(page, tmp_path, "agent-error")

            # The right JWKS registers the agent, which then gets a token with its own key
            url = register_agent(page, base, json.dumps(org.public_jwks()))
            assert "/admin/agents/agt_" in url
            agent_id = page.inner_text("#agent-id")
            agent = org.bearer_for(agent_id)
            assert fits_the_screen(page)
            shot(page, tmp_path, "agent")

            # An approver: the token is shown once
            page.goto(f"{base}/admin/approvers")
            page.fill("#f-email", "dana@example.com")
            page.fill("#f-name", "Dana Approver")
            page.click("#add button.primary")
            approver_token = page.inner_text("#new-token").strip()
            assert approver_token.startswith("jgapr_")
            shot(page, tmp_path, "approver-token")
            page.goto(f"{base}/admin/approvers")
            assert approver_token not in page.content()

            # A JIT policy naming the approver
            page.goto(f"{base}/admin/policies")
            page.fill("#f-permission", PERMISSION)
            page.select_option("#f-mode", "jit")
            page.check("input[name=approvers]")
            with page.expect_navigation():
                page.click("#edit button.primary")
            assert "Dana Approver" in page.inner_text("table")
            shot(page, tmp_path, "policies")

            # The agent asks; the approver's dashboard shows it with its key fields
            created = org.post(
                "/jit/requests",
                {
                    "permission": PERMISSION,
                    "justification": "Refund order 1234",
                    "operation": {"amount": 4200, "currency": "EUR"},
                },
                agent,
            )
            desk = browser.new_page(viewport=PHONE)
            desk.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            desk.goto(f"{base}/dashboard/login")
            desk.fill("#token", approver_token)
            desk.click("button[type=submit]")
            card = f'[data-request-id="{created["request_id"]}"]'
            desk.wait_for_selector(card)
            # The live list may swap in a fresh copy at any time: locate by selector, not handle
            assert "EUR" in desk.inner_text(card) and "4200" in desk.inner_text(card)

            # The request page disables its buttons when the agent cancels meanwhile
            desk.click(f"{card} a")
            desk.wait_for_selector("button.approve")
            _wait_socket(desk)
            org.post(f"/jit/requests/{created['request_id']}/cancel", {}, agent)
            desk.wait_for_selector("button.approve[disabled]", timeout=15_000)
            assert "cancelled" in desk.inner_text("#changed")

            # A form without its CSRF token is refused
            page.goto(f"{base}/admin/approvers")
            page.evaluate("document.querySelector('#add input[name=csrf_token]').remove()")
            page.fill("#f-email", "mallory@example.com")
            with page.expect_navigation() as nav:
                page.click("#add button.primary")
            assert nav.value.status == 403
            # No CSP violation, no missing favicon: only the refusals this test asked for
            expected = ("status of 422", "status of 403")
            assert [e for e in errors if not any(x in e for x in expected)] == []
        finally:
            browser.close()


def _wait_socket(page) -> None:
    """The request page connects its WebSocket on load; an event sent before that is missed."""
    # Polled from Python: wait_for_function's string predicate needs eval in the page once it
    # is not true at once, which the page's Content-Security-Policy (rightly) forbids.
    deadline = time.monotonic() + 15
    while page.evaluate("() => window.__jitgateLive === true") is not True:
        assert time.monotonic() < deadline, "the request page's WebSocket did not connect"
        page.wait_for_timeout(100)

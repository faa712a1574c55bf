"""The dashboard in a real browser against a real server: a request appears live and is approved.

Given a jitgate server (uvicorn in a subprocess, its own SQLite database and public URL), an
agent with a JIT policy and an approver signed in to the dashboard in headless Chromium:
when the agent asks, the request appears on the open pending page without a reload; when the
approver approves it there, the agent's waiting long-poll receives the approval and its token.
"""

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard.live_org import PERMISSION, LiveOrg
from tests.sdk.live_server import LiveServer, start_server

CHROMIUM = Path("/usr/bin/chromium")
# The README's picture is refreshed only on request (JITGATE_UPDATE_SCREENSHOT=1), so an ordinary
# run leaves the work tree clean; otherwise the screenshot goes to a temporary file.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard-pending.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(workdir=tmp_path)
    yield live
    live.stop()


def long_poll(url: str, headers: dict[str, str], into: dict[str, Any]) -> None:
    resp = httpx.get(url, params={"wait": 30}, headers=headers, timeout=40)
    into["status_code"], into["body"] = resp.status_code, resp.json()


def _screenshot_path(tmp_path: Path) -> Path:
    if os.environ.get("JITGATE_UPDATE_SCREENSHOT") == "1":
        return DOCS_SCREENSHOT
    return tmp_path / "dashboard-pending.png"


def test_request_appears_live_and_approval_reaches_the_waiting_agent(server, tmp_path):
    from playwright.sync_api import sync_playwright

    setup = LiveOrg(f"{server.base_url}/orgs/{server.org_id}/api/v1", server.admin_token)
    approver_token = setup.approver_with_jit_policy()
    agent = setup.agent_bearer()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 640})
            # Given an approver signed in and looking at the pending list
            page.goto(f"{server.base_url}/dashboard/login")
            page.fill("#token", approver_token)
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard/pending")
            page.wait_for_selector("#live-status[data-state=live]")
            page.evaluate("window.__sameDocument = true")
            navigations: list[str] = []
            page.on(
                "framenavigated",
                lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
            )

            # When the agent asks for a JIT approval
            created = setup.post(
                "/jit/requests",
                {
                    "permission": PERMISSION,
                    "justification": "Refund order 1234: the customer was charged twice",
                    "expires_in": "10m",
                    "operation": {"amount": 4200, "currency": "EUR", "order": "1234"},
                },
                agent,
            )
            request_id = created["request_id"]

            # Then it appears on the open page without a reload
            page.wait_for_selector(f'[data-request-id="{request_id}"]', timeout=10_000)
            assert navigations == []
            assert page.evaluate("window.__sameDocument") is True
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(_screenshot_path(tmp_path)), full_page=True)

            # And while the agent waits, the approver opens the request and approves it
            waited: dict[str, Any] = {}
            poller = threading.Thread(
                target=long_poll,
                args=(f"{setup.api}/jit/requests/{request_id}", agent, waited),
            )
            poller.start()
            page.click(f'[data-request-id="{request_id}"] a')
            page.wait_for_selector("pre.operation")
            assert '"amount": 4200' in page.inner_text("pre.operation")
            assert "refund-bot" in page.inner_text(".facts")
            page.fill("#comment", "Double charge confirmed in the ledger")
            page.click("button.approve")
            page.wait_for_url(f"**/dashboard/requests/{request_id}?done=approved")
            assert "Dana Approver" in page.inner_text(".decisions")
        finally:
            browser.close()

    poller.join(timeout=35)
    assert waited.get("status_code") == 200, waited
    assert waited["body"]["status"] == "approved"
    assert waited["body"]["token"]["access_token"]
    assert waited["body"]["decisions"][0]["channel"] == "dashboard"

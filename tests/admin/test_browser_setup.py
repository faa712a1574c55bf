"""An org set up from an empty database entirely in the browser, at phone width (390 px).

Given a jitgate server on a fresh SQLite database with SMTP pointing at an aiosmtpd server on
loopback, and only the admin token `jitgate orgs create` printed, an admin in headless
Chromium: gives a second admin token their email address, signs out, signs back in by the
one-time emailed link (which then no longer works); registers an agent; adds an approver; makes
the agent's permission JIT and sees the policies page explain why; describes the permission in
the catalog and sees how the Ask API reads a question for the agent; trusts a workload issuer
and lets a CI job act as the agent; registers the MCP server the permission is used on. Wrong
input on each new form shows the API's error next to the field and keeps what was typed; a form
without its CSRF token is refused. Then the agent's JIT request, bound to that resource, reaches
the approver's dashboard, is approved there, and the agent gets its one-operation token.
"""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.admin.test_browser import CHROMIUM, PHONE, fits_the_screen, shot, sign_in
from tests.dashboard.live_org import LiveOrg
from tests.dashboard.test_browser import CHROMIUM_ARGS
from tests.factories import ed25519_jwk
from tests.fakes.smtp import CapturingHandler, free_port
from tests.sdk.live_server import LiveServer, start_server

PERMISSION = "payments.refund"
RESOURCE = "https://mcp.example.com/payments"
ADMIN_EMAIL = "alice@example.com"
WAIT_SECONDS = 60  # a busy 2-core machine may take a while to send a mail

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture
def smtp() -> Iterator[CapturingHandler]:
    handler = CapturingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = int(controller.port)  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def server(tmp_path: Path, smtp: CapturingHandler) -> Iterator[LiveServer]:
    env = {"JITGATE_SMTP_HOST": "127.0.0.1", "JITGATE_SMTP_PORT": str(smtp.port)}
    live = start_server(workdir=tmp_path, extra_env=env)
    yield live
    live.stop()


def _emailed_link(smtp: CapturingHandler) -> str:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        for message in list(smtp.messages):
            found = re.search(r"(http://\S+/admin/login/link/\S+)", message.get_content())
            if found:
                return found.group(1)
        assert time.monotonic() < deadline, "no sign-in link was emailed"
        time.sleep(0.2)


def _submit(page, form: str) -> int:
    """Press a form's primary button and return the answer's HTTP status."""
    with page.expect_navigation() as nav:
        page.click(f"{form} button.primary")
    return nav.value.status


def sign_in_by_email(page, base: str, smtp: CapturingHandler, tmp_path: Path) -> None:
    # A second admin token carrying Alice's address, made in the portal
    page.goto(f"{base}/admin/tokens")
    page.fill("#f-label", "alice")
    page.fill("#f-email", "not an address")
    assert _submit(page, "#create") == 422
    assert "email must be an email address" in page.inner_text("#e-email")
    page.fill("#f-email", ADMIN_EMAIL)
    assert _submit(page, "#create") == 201
    page.click("form.signout button")
    page.wait_for_url("**/admin/login")
    # An unknown address and Alice's get the same answer; only Alice's brings a mail
    for address in ("mallory@example.com", ADMIN_EMAIL):
        page.fill("#email", address)
        with page.expect_navigation():
            page.click("#email-link button")
        assert "If that address belongs to an admin" in page.inner_text("#notice")
    shot(page, tmp_path, "login-email")
    link = _emailed_link(smtp)
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == ADMIN_EMAIL
    # Following the link shows a button; only the button signs in
    page.goto(link)
    assert ADMIN_EMAIL in page.inner_text("main")
    page.click("#link-sign-in button")
    page.wait_for_url("**/admin/overview")
    # The link works once: in another browser (its own cookies) it signs nobody in
    other = page.context.browser.new_context(viewport=PHONE).new_page()
    other.goto(link)
    with other.expect_navigation() as nav:
        other.click("#link-sign-in button")
    assert nav.value.status == 409
    other.context.close()


def register_agent(page, base: str, org: LiveOrg) -> str:
    page.goto(f"{base}/admin/agents")
    page.fill("#f-name", "refund-bot")
    page.fill("#f-capabilities", f"{PERMISSION} document.read")
    page.fill("#f-jwks", json.dumps(org.public_jwks()))
    page.fill("#f-owner", "ops@example.com")
    assert _submit(page, "#register") == 200  # after the redirect to the agent's page
    return page.inner_text("#agent-id").strip()


def add_approver(page, base: str, tmp_path: Path) -> str:
    page.goto(f"{base}/admin/approvers")
    page.fill("#f-email", "dana@example.com")
    page.fill("#f-name", "Dana Approver")
    page.click("#add button.primary")
    return page.inner_text("#new-token").strip()


def jit_policy_explained(page, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/admin/policies")
    page.fill("#f-permission", "payments.*")
    page.select_option("#f-mode", "deny")
    assert _submit(page, "#edit") == 200
    page.fill("#f-permission", PERMISSION)
    page.select_option("#f-mode", "jit")
    page.check("input[name=approvers]")
    assert _submit(page, "#edit") == 200
    page.fill("#f-explain", "Payments Refund")
    page.click("#explain button")
    page.wait_for_selector("#e-explain")
    assert "dotted name" in page.inner_text("#e-explain")
    page.fill("#f-explain", PERMISSION)
    page.click("#explain button")
    page.wait_for_selector("#explained")
    assert page.inner_text("#explained-mode") == "jit"
    assert "payments.* (deny): the exact name payments.refund beats" in page.inner_text(
        "#explained-beaten"
    )
    shot(page, tmp_path, "policies-explain")


def catalog_and_ask(page, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/admin/catalog")
    page.fill("#f-permission", PERMISSION)
    page.fill("#f-description", "Refund a customer's payment")
    page.fill("#f-synonyms", "give money back")
    assert _submit(page, "#describe") == 200
    page.fill("#f-agent", "no-such-bot")
    page.fill("#f-question", "Can I give money back?")
    assert _submit(page, "#ask") == 422
    assert "no agent" in page.inner_text("#e-agent")
    assert page.input_value("#f-question") == "Can I give money back?"
    page.fill("#f-agent", "refund-bot")
    assert _submit(page, "#ask") == 200
    assert page.inner_text("#ask-allowed") == "Not allowed"
    answer = page.inner_text("#ask-answer")
    assert PERMISSION in answer and "needs approval" in answer
    shot(page, tmp_path, "catalog-ask")


def trust_issuer_and_federate(page, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/admin/issuers")
    page.fill("#f-issuer", "https://token.actions.githubusercontent.com")
    page.fill("#f-name", "GitHub Actions")
    page.check("input[name=jwks_source][value=paste]")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ci_jwks = {"keys": [ed25519_jwk(Ed25519PrivateKey.generate(), "gh-1")]}
    page.fill("#f-jwks", json.dumps(ci_jwks))
    assert _submit(page, "#add") == 422  # no audience given
    assert "audiences" in page.inner_text("#e-audiences")
    assert page.input_value("#f-name") == "GitHub Actions"
    page.fill("#f-audiences", "https://jitgate.example.com")
    assert _submit(page, "#add") == 200
    assert "token.actions.githubusercontent.com" in page.inner_text("#issuers")
    assert fits_the_screen(page)
    shot(page, tmp_path, "issuers")

    page.goto(f"{base}/admin/federation")
    page.fill("#f-agent", "refund-bot")
    page.fill("#f-subject", "repo:acme/payments:ref:refs/heads/main")
    page.fill("#f-claims", '{"repository_owner": ')
    assert _submit(page, "#add") == 422
    assert "not valid JSON" in page.inner_text("#e-claims")
    page.fill("#f-claims", '{"repository_owner": "acme"}')
    assert _submit(page, "#add") == 200
    assert "repo:acme/payments" in page.inner_text("#rules")
    assert fits_the_screen(page)
    shot(page, tmp_path, "federation")


def register_resource(page, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/admin/resources")
    page.fill("#f-name", "Payments MCP")
    page.fill("#f-resource_uri", "http://mcp.example.com/payments")
    page.fill("#f-tools", f"refund = {PERMISSION}")
    assert _submit(page, "#add") == 422
    assert "https" in page.inner_text("#e-resource_uri")
    assert page.input_value("#f-tools") == f"refund = {PERMISSION}"
    page.fill("#f-resource_uri", RESOURCE)
    assert _submit(page, "#add") == 200
    assert f"{PERMISSION} (jit)" in page.inner_text("#resources")
    assert fits_the_screen(page)
    shot(page, tmp_path, "resources")
    # The same form stripped of its CSRF token is refused, and nothing is added
    page.evaluate("document.querySelector('#add input[name=csrf_token]').remove()")
    page.fill("#f-name", "Mallory MCP")
    page.fill("#f-resource_uri", "https://mallory.example.com/")
    assert _submit(page, "#add") == 403
    page.goto(f"{base}/admin/resources")
    assert "Mallory" not in page.inner_text("main")


def approve_on_dashboard(browser, base: str, token: str, request_id: str, errors: list) -> None:
    desk = browser.new_page(viewport=PHONE)
    desk.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    desk.goto(f"{base}/dashboard/login")
    desk.fill("#token", token)
    desk.click("button[type=submit]")
    card = f'[data-request-id="{request_id}"]'
    desk.wait_for_selector(card)
    assert "mcp.example.com" in desk.inner_text(card) or "4200" in desk.inner_text(card)
    desk.click(f"{card} a")
    desk.wait_for_selector("button.approve")
    with desk.expect_navigation():
        desk.click("button.approve")


def test_an_org_is_set_up_from_an_empty_database_entirely_in_the_browser(server, smtp, tmp_path):
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
            sign_in_by_email(page, base, smtp, tmp_path)
            agent_id = register_agent(page, base, org)
            approver_token = add_approver(page, base, tmp_path)
            jit_policy_explained(page, base, tmp_path)
            catalog_and_ask(page, base, tmp_path)
            trust_issuer_and_federate(page, base, tmp_path)
            register_resource(page, base, tmp_path)
            page.goto(f"{base}/admin/agents?q=refund")
            assert page.inner_text("table").count("refund-bot") == 1
            shot(page, tmp_path, "agents")

            # The agent, with a token from its own key, asks for one refund on that server
            agent = org.bearer_for(agent_id)
            operation = {"order": "1234", "amount": 4200, "currency": "EUR"}
            created = org.post(
                "/jit/requests",
                {
                    "permission": PERMISSION,
                    "justification": "Refund order 1234",
                    "operation": operation,
                    "resource": RESOURCE,
                },
                agent,
            )
            approve_on_dashboard(browser, base, approver_token, created["request_id"], errors)
            status = httpx.get(
                f"{org.api}/jit/requests/{created['request_id']}?wait=30",
                headers=agent,
                timeout=40,
            ).json()
            assert status["status"] == "approved" and status["token"]["access_token"]

            # No CSP violation or missing file: only the refusals this test asked for
            expected = ("status of 422", "status of 403", "status of 409")
            assert [e for e in errors if not any(x in e for x in expected)] == []
        finally:
            browser.close()

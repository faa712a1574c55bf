"""Emailed one-time portal sign-in links: only to an address an admin token carries, usable
once, never by a GET, dead when the token is revoked, the same answer for every address, rate
limited, and never written to the log."""

import logging
import re
import uuid

import pytest

from app.admin import login_link
from app.admin import session as admin_sessions
from app.settings import get_settings
from tests.admin.conftest import admin_login, post
from tests.dashboard.conftest import ORIGIN, hidden
from tests.fakes.smtp import smtp_server  # noqa: F401 - the loopback SMTP server fixture


@pytest.fixture
def smtp(smtp_server, monkeypatch):  # noqa: F811
    settings = get_settings()
    monkeypatch.setattr(settings, "smtp_host", smtp_server.host)
    monkeypatch.setattr(settings, "smtp_port", smtp_server.port)
    return smtp_server


def address(name: str = "alice") -> str:
    # The test database is shared by every test: an address names one token only here.
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def token_with_email(browser, org, email: str) -> str:
    """An admin creates a second admin token carrying the address; returns the token's id."""
    assert admin_login(browser, org.admin_token).status_code == 303
    made = post(browser, "/admin/tokens", {"label": "alice", "email": email})
    assert made.status_code == 201, made.text
    post(browser, "/admin/logout", {})
    browser.cookies.clear()
    row = re.search(
        rf"<td>{re.escape(email)}</td>.*?/admin/tokens/(adm_[a-z0-9]+)/revoke", made.text, re.S
    )
    return row.group(1)


def ask_for_link(browser, email: str):
    form = browser.get("/admin/login")
    data = {"email": email, "login_csrf": hidden(form.text, "login_csrf")}
    return browser.post("/admin/login/email", data=data, headers={"Origin": ORIGIN})


def link_in(message) -> str:
    match = re.search(r"http://testserver(/admin/login/link/\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def use_link(browser, path: str):
    confirm = browser.get(path)
    if confirm.status_code != 200:
        return confirm
    data = {"login_csrf": hidden(confirm.text, "login_csrf")}
    return browser.post(path, data=data, headers={"Origin": ORIGIN})


def test_login_page_offers_links_only_when_email_is_configured(browser, monkeypatch):
    assert "Email me a sign-in link" not in browser.get("/admin/login").text
    monkeypatch.setattr(get_settings(), "smtp_host", "127.0.0.1")
    assert "Email me a sign-in link" in browser.get("/admin/login").text


def test_without_smtp_asking_for_a_link_is_not_found(browser):
    assert ask_for_link(browser, "a@example.com").status_code == 404


def test_unknown_address_gets_the_same_answer_and_no_mail(browser, org, smtp):
    token_with_email(browser, org, address())
    unknown = ask_for_link(browser, address("nobody"))
    assert unknown.status_code == 200 and login_link_notice(unknown.text)
    assert smtp.messages == []


def login_link_notice(text: str) -> bool:
    return "If that address belongs to an admin, a sign-in link is on its way." in text


def test_the_token_alone_is_no_address(browser, org, smtp):
    # An admin token without an email: no address reaches it, not even its label's
    ask_for_link(browser, "initial@example.com")
    assert smtp.messages == []


def test_emailed_link_signs_in_once_and_only_by_its_button(browser, org, smtp):
    email = address()
    token_with_email(browser, org, email)
    known = ask_for_link(browser, email.upper())
    assert known.status_code == 200 and login_link_notice(known.text)
    [message] = smtp.messages
    assert message["To"] == email
    path = link_in(message)

    confirm = browser.get(path)
    assert confirm.status_code == 200 and email in confirm.text
    assert admin_sessions.COOKIE not in browser.cookies  # opening the link signs nobody in
    data = {"login_csrf": hidden(confirm.text, "login_csrf")}
    signed = browser.post(path, data=data, headers={"Origin": ORIGIN})
    assert signed.status_code == 303 and signed.headers["location"] == "/admin/overview"
    assert browser.get("/admin/overview").status_code == 200

    browser.cookies.clear()
    replay = use_link(browser, path)
    assert replay.status_code == 409 and "already used" in replay.text
    assert admin_sessions.COOKIE not in browser.cookies


def test_link_needs_the_form_nonce_and_our_origin(browser, org, smtp):
    email = address()
    token_with_email(browser, org, email)
    ask_for_link(browser, email)
    path = link_in(smtp.messages[0])
    forged = browser.post(path, data={"login_csrf": "forged"}, headers={"Origin": ORIGIN})
    assert forged.status_code == 403
    confirm = browser.get(path)
    data = {"login_csrf": hidden(confirm.text, "login_csrf")}
    elsewhere = browser.post(path, data=data, headers={"Origin": "http://evil.example"})
    assert elsewhere.status_code == 403
    assert admin_sessions.COOKIE not in browser.cookies
    assert use_link(browser, path).status_code == 303  # the refusals did not use it up


def test_a_link_stops_working_when_its_token_is_revoked(browser, org, smtp):
    email = address()
    token_id = token_with_email(browser, org, email)
    ask_for_link(browser, email)
    path = link_in(smtp.messages[0])
    assert admin_login(browser, org.admin_token).status_code == 303
    assert post(browser, f"/admin/tokens/{token_id}/revoke", {}).status_code == 303
    browser.cookies.clear()
    assert use_link(browser, path).status_code == 410
    assert admin_sessions.COOKIE not in browser.cookies


def test_a_session_opened_by_link_ends_when_its_token_is_revoked(browser, org, smtp, app):
    from fastapi.testclient import TestClient

    email = address()
    token_id = token_with_email(browser, org, email)
    ask_for_link(browser, email)
    assert use_link(browser, link_in(smtp.messages[0])).status_code == 303
    other = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    assert admin_login(other, org.admin_token).status_code == 303
    assert post(other, f"/admin/tokens/{token_id}/revoke", {}).status_code == 303
    assert browser.get("/admin/overview").status_code == 303


def test_expired_or_altered_links_do_not_work(browser, org, smtp):
    email = address()
    token_with_email(browser, org, email)
    ask_for_link(browser, email)
    path = link_in(smtp.messages[0])
    token = path.rsplit("/", 1)[1]
    claims = login_link.read_token(token)
    assert claims is not None
    assert login_link.read_token(token, now=claims.exp) is None  # expired at exp
    assert claims.exp - login_link.LINK_SECONDS > 0 and login_link.LINK_SECONDS <= 15 * 60
    altered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert browser.get(altered).status_code == 410
    # A dashboard (approver) sign-in link is not an admin link, though signed by the same key
    from app.dashboard import session as shared

    approver_like = shared.sign_payload("dashboard-login-link", {"admin": "adm_x"})
    assert browser.get(f"/admin/login/link/{approver_like}").status_code == 410


def test_a_second_request_within_a_minute_sends_nothing(browser, org, smtp):
    email = address()
    token_with_email(browser, org, email)
    first, second = ask_for_link(browser, email), ask_for_link(browser, email)
    assert first.text.count("on its way") == second.text.count("on its way") == 1
    assert len(smtp.messages) == 1


def test_an_org_gets_a_bounded_number_of_links_an_hour(browser, org, smtp, monkeypatch):
    monkeypatch.setattr(login_link, "ORG_LINKS_PER_HOUR", 2)
    emails = [address(f"a{i}") for i in range(3)]
    for email in emails:
        token_with_email(browser, org, email)
    for email in emails:
        assert login_link_notice(ask_for_link(browser, email).text)
    assert len(smtp.messages) == 2


HARNESS_LOGGERS = ("httpx", "httpx2", "mail.log", "asyncio")


def test_the_link_is_never_logged(browser, org, smtp, caplog):
    email = address()
    token_with_email(browser, org, email)
    with caplog.at_level(logging.DEBUG):
        ask_for_link(browser, email)
        path = link_in(smtp.messages[0])
        use_link(browser, path)
        use_link(browser, path)  # the refused replay too
    token = path.rsplit("/", 1)[1]
    # The test's own parts log what they see (the test client its URLs, the fake SMTP server
    # the message): only jitgate's records are the service's log.
    ours = [r for r in caplog.records if not r.name.startswith(HARNESS_LOGGERS)]
    assert any(r.name == "jitgate.request" for r in ours)
    assert all(token not in r.getMessage() and token not in str(r.__dict__) for r in ours)


def test_an_address_with_control_characters_gets_the_same_answer(browser, org, smtp):
    email = address()
    token_with_email(browser, org, email)
    resp = ask_for_link(browser, email + "\r\nBcc: mallory@example.com")
    assert resp.status_code == 200 and login_link_notice(resp.text)
    assert smtp.messages == []


def test_a_token_email_that_is_not_an_address_is_refused_next_to_the_field(admin):
    resp = post(admin, "/admin/tokens", {"label": "bad", "email": "not an address"})
    assert resp.status_code == 422
    assert 'id="e-email"' in resp.text and "email must be an email address" in resp.text
    assert 'value="not an address"' in resp.text


def test_an_org_created_with_an_admin_email_can_sign_in_by_link(browser, smtp):
    from tests.test_cli import cli

    email = address("first")
    result = cli("orgs", "create", "Linked", "--admin-email", email.upper(), "--json")
    assert result.exit_code == 0, result.output
    ask_for_link(browser, email)
    [message] = smtp.messages
    assert message["To"] == email and "Linked" in message["Subject"]
    assert use_link(browser, link_in(message)).status_code == 303
    assert "Linked" in browser.get("/admin/overview").text


def test_a_bad_admin_email_on_the_command_line_is_a_one_line_error(client):
    from tests.test_cli import assert_one_line_error, cli

    result = cli("orgs", "create", "Nope", "--admin-email", "not-an-address", "--json")
    assert_one_line_error(result, "email must be an email address")
    result = cli("admin-tokens", "create", "--org", "org_x", "--email", "x y@z", "--json")
    assert_one_line_error(result, "email must be an email address")


@pytest.mark.parametrize("name", ["Acme\nBcc: spy@evil.example", "Acme\rX", "Ac\x00me", "Ac\tme"])
def test_an_org_name_that_is_not_one_printable_line_is_refused(name):
    from app.core.errors import RuleViolation
    from tests import factories
    from tests.test_cli import assert_one_line_error, cli

    with pytest.raises(RuleViolation, match="printable"):
        factories.make_org(name=name)
    assert_one_line_error(cli("orgs", "create", name, "--json"), "printable")


def _rename(org_id: str, name: str) -> None:
    """An org named before names had to be printable (written straight to the database)."""
    from sqlalchemy import text

    from app.core.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("UPDATE org SET name = :n WHERE id = :o"), {"n": name, "o": org_id})


def test_an_old_org_name_with_a_new_line_still_gets_its_link_and_no_oracle(browser, org, smtp):
    # Review 13, L3: the Subject header refused the new line: a 500 for this address only
    _rename(org.org_id, "Acme\nBcc: spy@evil.example")
    email = address()
    token_with_email(browser, org, email)
    known = ask_for_link(browser, email)
    unknown = ask_for_link(browser, address("nobody"))
    assert known.status_code == unknown.status_code == 200
    assert login_link_notice(known.text) and login_link_notice(unknown.text)
    [message] = smtp.messages
    assert message["Subject"] == "Your jitgate admin sign-in link for Acme Bcc: spy@evil.example"
    assert message["Bcc"] is None and "spy@evil.example" not in message["To"]


def test_a_message_that_cannot_be_built_changes_nothing_in_the_answer(
    browser, org, smtp, monkeypatch
):
    email = address()
    token_with_email(browser, org, email)

    def broken(*args, **kwargs):
        raise ValueError("header")

    monkeypatch.setattr(login_link, "_message", broken)
    known = ask_for_link(browser, email)
    unknown = ask_for_link(browser, address("nobody"))
    assert known.status_code == unknown.status_code == 200
    assert login_link_notice(known.text) and smtp.messages == []

"""One-time sign-in links by email: offered only with SMTP, usable once, never by a GET."""

import re

import pytest

from app.dashboard import login_link
from app.dashboard import session as sessions
from app.settings import get_settings
from tests.dashboard.conftest import ORIGIN, hidden


@pytest.fixture
def smtp(smtp_server, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "smtp_host", smtp_server.host)
    monkeypatch.setattr(settings, "smtp_port", smtp_server.port)
    return smtp_server


def ask_for_link(browser, email: str):
    form = browser.get("/dashboard/login")
    data = {"email": email, "login_csrf": hidden(form.text, "login_csrf")}
    return browser.post("/dashboard/login/email", data=data, headers={"Origin": ORIGIN})


def link_in(message) -> str:
    text = message.get_content()
    match = re.search(r"http://testserver(/dashboard/login/link/\S+)", text)
    assert match, text
    return match.group(1)


def test_login_page_offers_links_only_when_email_is_configured(browser, monkeypatch):
    assert "Email me a sign-in link" not in browser.get("/dashboard/login").text
    monkeypatch.setattr(get_settings(), "smtp_host", "127.0.0.1")
    assert "Email me a sign-in link" in browser.get("/dashboard/login").text


def test_emailed_link_signs_in_once_and_only_by_its_button(browser, team, smtp):
    alice = team.approver["email"]
    resp = ask_for_link(browser, alice.upper())
    assert resp.status_code == 200 and "on its way" in resp.text
    [message] = smtp.messages
    assert message["To"] == alice
    path = link_in(message)

    confirm = browser.get(path)
    assert confirm.status_code == 200 and alice in confirm.text
    assert sessions.COOKIE not in browser.cookies  # opening the link signs nobody in
    data = {"login_csrf": hidden(confirm.text, "login_csrf")}
    signed = browser.post(path, data=data, headers={"Origin": ORIGIN})
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard/pending"
    assert browser.get("/dashboard/pending").status_code == 200

    again = browser.get(path)
    replay = browser.post(path, data={"login_csrf": hidden(again.text, "login_csrf")})
    assert replay.status_code == 409 and "already used" in replay.text


def test_unknown_address_gets_the_same_answer_and_no_mail(browser, team, smtp):
    resp = ask_for_link(browser, "nobody@example.com")
    assert resp.status_code == 200 and "on its way" in resp.text
    assert smtp.messages == []


def test_a_second_link_within_a_minute_is_not_sent(browser, team, smtp):
    ask_for_link(browser, team.other_approver["email"])
    ask_for_link(browser, team.other_approver["email"])
    assert len(smtp.messages) == 1


def test_link_needs_the_form_nonce(browser, team, smtp):
    ask_for_link(browser, team.approver["email"])
    path = link_in(smtp.messages[0])
    resp = browser.post(path, data={"login_csrf": "forged"}, headers={"Origin": ORIGIN})
    assert resp.status_code == 403 and sessions.COOKIE not in browser.cookies


def test_expired_or_altered_links_do_not_work(browser, team, smtp):
    ask_for_link(browser, team.approver["email"])
    path = link_in(smtp.messages[0])
    token = path.rsplit("/", 1)[1]
    assert login_link.read_token(token) is not None
    assert login_link.read_token(token, now=10**10) is None
    assert browser.get(path[:-2] + "xx").status_code == 410
    assert browser.get("/dashboard/login/link/garbage").status_code == 410

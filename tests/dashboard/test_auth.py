"""Signing in and out, the session cookie's attributes, CSRF and Origin checks."""

from app.dashboard import session as sessions
from tests.dashboard.conftest import ORIGIN, ask, csrf_from, hidden, login


def test_approver_token_signs_in_with_a_strict_httponly_cookie(browser, team):
    resp = login(browser, team.token)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/dashboard/pending"
    cookie = next(
        h for h in resp.headers.get_list("set-cookie") if h.startswith(sessions.COOKIE + "=")
    )
    attrs = cookie.lower()
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/dashboard" in attrs
    assert "secure" not in attrs  # public_url is http://testserver
    page = browser.get("/dashboard/pending")
    assert page.status_code == 200 and "Alice" in page.text


def test_unknown_token_is_refused_with_a_page(browser, team):
    resp = login(browser, "jgapr_not-a-real-token")
    assert resp.status_code == 401
    assert "text/html" in resp.headers["content-type"]
    assert "not recognised" in resp.text
    assert sessions.COOKIE not in browser.cookies


def test_admin_token_is_not_an_approver_login(browser, team):
    assert login(browser, team.org.admin_token).status_code == 401


def test_login_without_its_form_nonce_is_refused(browser, team):
    browser.get("/dashboard/login")
    data = {"token": team.token, "login_csrf": "forged"}
    resp = browser.post("/dashboard/login", data=data, headers={"Origin": ORIGIN})
    assert resp.status_code == 403
    assert sessions.COOKIE not in browser.cookies


def test_login_from_another_origin_is_refused(browser, team):
    form = browser.get("/dashboard/login")
    data = {"token": team.token, "login_csrf": hidden(form.text, "login_csrf")}
    resp = browser.post("/dashboard/login", data=data, headers={"Origin": "http://evil.example"})
    assert resp.status_code == 403
    assert "another site" in resp.text


def test_pages_send_a_visitor_without_session_to_login(browser):
    resp = browser.get("/dashboard/history?status=denied")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/dashboard/login?next=/dashboard/history%3Fstatus%3Ddenied"


def test_login_returns_only_to_dashboard_pages(browser, team):
    form = browser.get("/dashboard/login?next=https://evil.example/")
    assert hidden(form.text, "next") == "/dashboard/pending"


def test_tampered_cookie_is_not_a_session(browser, team):
    login(browser, team.token)
    # Replace the cookie in place (same domain and path): a second cookie beside it would leave
    # the genuine one to be sent, and the test would prove nothing.
    cookie = next(c for c in browser.cookies.jar if c.name == sessions.COOKIE)
    tampered = cookie.value[:-3] + ("AAA" if not cookie.value.endswith("AAA") else "BBB")
    browser.cookies.set(sessions.COOKIE, tampered, domain=cookie.domain, path=cookie.path)
    assert [c.value for c in browser.cookies.jar if c.name == sessions.COOKIE] == [tampered]
    assert browser.get("/dashboard/pending").status_code == 303


def test_post_without_csrf_token_is_refused_and_decides_nothing(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    resp = signed_in.post(f"/dashboard/requests/{request_id}/approve", data={"comment": "ok"})
    assert resp.status_code == 403
    assert "form has expired" in resp.text
    status = client.get(f"{team.org.api}/jit/requests/{request_id}", headers=team.org.admin)
    assert status.json()["decisions"] == []


def test_post_with_another_sessions_csrf_token_is_refused(app, client, signed_in, team):
    from fastapi.testclient import TestClient

    other = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    login(other, team.other_approver["api_token"])
    foreign = csrf_from(other)
    request_id = ask(client, team)["request_id"]
    resp = signed_in.post(f"/dashboard/requests/{request_id}/approve", data={"csrf_token": foreign})
    assert resp.status_code == 403


def test_post_from_another_origin_is_refused(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    resp = signed_in.post(
        f"/dashboard/requests/{request_id}/approve",
        data={"csrf_token": csrf_from(signed_in)},
        headers={"Origin": "http://evil.example"},
    )
    assert resp.status_code == 403


def test_logout_ends_the_session_even_for_a_copied_cookie(signed_in):
    copied = signed_in.cookies.get(sessions.COOKIE)
    resp = signed_in.post("/dashboard/logout", data={"csrf_token": csrf_from(signed_in)})
    assert resp.status_code == 303 and resp.headers["location"] == "/dashboard/login"
    assert sessions.COOKIE not in signed_in.cookies
    signed_in.cookies.set(sessions.COOKIE, copied, path="/dashboard")
    assert signed_in.get("/dashboard/pending").status_code == 303


def test_logout_needs_the_csrf_token(signed_in):
    assert signed_in.post("/dashboard/logout").status_code == 403
    assert signed_in.get("/dashboard/pending").status_code == 200


def test_pages_forbid_framing_and_caching(signed_in):
    resp = signed_in.get("/dashboard/pending")
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]


def test_a_new_approver_token_ends_sessions_opened_with_the_old_one(signed_in, team):
    from app.core.db import session_scope
    from app.core.secrets import hash_token
    from app.models import Approver

    with session_scope() as session:
        approver = session.get(Approver, team.approver["approver_id"])
        approver.token_hash = hash_token("jgapr_rotated-" + team.approver["approver_id"])
    assert signed_in.get("/dashboard/pending").status_code == 303


def test_cookies_are_secure_when_the_public_url_is_https(monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "public_url", "https://jitgate.example.com")
    assert sessions.cookie_options(60)["secure"] is True
    assert sessions.origin_allowed("https://jitgate.example.com", required=True)
    assert not sessions.origin_allowed("http://jitgate.example.com", required=True)

"""Admin portal sign-in: the cookie, CSRF, sign-out and revocation end sessions, org isolation."""

import re

from app.admin import session as admin_sessions
from tests import factories
from tests.admin.conftest import admin_login, csrf_of, post
from tests.dashboard.conftest import ORIGIN


def test_no_session_is_sent_to_sign_in(browser):
    # Given no cookie, when a portal page is opened, then the browser goes to the sign-in form
    resp = browser.get("/admin/agents")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/admin/login"


def test_admin_token_signs_in_with_a_strict_httponly_cookie(browser, org):
    resp = admin_login(browser, org.admin_token)
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/overview"
    cookie = next(
        h for h in resp.headers.get_list("set-cookie") if h.startswith(admin_sessions.COOKIE)
    ).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    page = browser.get("/admin/overview")
    assert page.status_code == 200 and "Acme" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp


def test_approver_token_and_garbage_do_not_sign_in(browser, org):
    assert admin_login(browser, "jgapr_not-an-admin").status_code == 401
    assert admin_login(browser, "jgadm_unknown").status_code == 401
    assert admin_sessions.COOKIE not in browser.cookies


def test_a_form_post_without_the_csrf_token_is_refused(admin):
    # Given a signed-in admin, when a form arrives without the session's CSRF token
    resp = admin.post(
        "/admin/approvers", data={"email": "x@example.com"}, headers={"Origin": ORIGIN}
    )
    # Then it is refused and nothing was created
    assert resp.status_code == 403
    assert "x@example.com" not in admin.get("/admin/approvers").text


def test_a_form_post_from_another_origin_is_refused(admin):
    data = {"csrf_token": csrf_of(admin), "email": "y@example.com"}
    resp = admin.post("/admin/approvers", data=data, headers={"Origin": "http://evil.example"})
    assert resp.status_code == 403


def test_sign_out_ends_the_session_on_the_server(admin):
    # Given a saved copy of the session cookie
    saved = admin.cookies[admin_sessions.COOKIE]
    # When the admin signs out
    assert post(admin, "/admin/logout", {}).status_code == 303
    # Then the saved cookie no longer opens a page
    admin.cookies.set(admin_sessions.COOKIE, saved, path="/admin")
    assert admin.get("/admin/overview").status_code == 303


def test_revoking_the_admin_token_ends_its_sessions(admin, org):
    # Given a session opened with the org's token, and a second token to revoke it from
    issued = post(admin, "/admin/tokens", {"label": "second"})
    assert issued.status_code == 201
    assert re.search(r"jgadm_[A-Za-z0-9_-]+", issued.text)
    first = admin.get("/admin/tokens").text
    token_id = re.search(r"/admin/tokens/(adm_[a-z0-9]+)/revoke", first).group(1)
    # When the session's own token is revoked (here, from the same session)
    assert post(admin, f"/admin/tokens/{token_id}/revoke", {}).status_code == 303
    # Then the session is over, and the token no longer works on the API either
    assert admin.get("/admin/overview").status_code == 303


def test_another_orgs_admin_sees_only_its_own_org(browser, org, other_org, client):
    # Given an agent in org A, and an admin of org B signed in
    agent = factories.register_agent(client, org, capabilities=["document.read"])
    assert admin_login(browser, other_org.admin_token).status_code == 303
    # When B lists agents or opens A's agent by id
    listing = browser.get("/admin/agents")
    detail = browser.get(f"/admin/agents/{agent.agent_id}")
    # Then A's agent is not there and its page is a 404
    assert agent.name not in listing.text
    assert detail.status_code == 404

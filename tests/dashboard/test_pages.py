"""What the pages show and do: pending list, a request, decisions, history, audit, bad input."""

from datetime import UTC, datetime

from app.core.db import session_scope
from app.models import Delivery
from tests import factories
from tests.dashboard.conftest import add_approver, ask, csrf_from


def test_pending_list_shows_requests_this_approver_may_decide(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    page = signed_in.get("/dashboard/pending")
    assert request_id in page.text and "payments.authorize" in page.text
    fragment = signed_in.get("/dashboard/fragments/pending")
    assert fragment.status_code == 200
    assert request_id in fragment.text and "<html" not in fragment.text


def test_request_page_shows_what_is_asked(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    page = signed_in.get(f"/dashboard/requests/{request_id}")
    assert page.status_code == 200
    text = page.text
    assert team.agent.name in text and "owner@example.com" in text
    assert "Refund order 1234 as the customer asked" in text
    assert "&#34;amount&#34;: 4200" in text or "&quot;amount&quot;: 4200" in text
    assert "left" in text and "0 of 1 needed" in text
    assert 'name="csrf_token"' in text and "/approve" in text and "/deny" in text


def test_approving_records_a_dashboard_decision(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    resp = signed_in.post(
        f"/dashboard/requests/{request_id}/approve",
        data={"csrf_token": csrf_from(signed_in), "comment": "Looks right"},
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/dashboard/requests/{request_id}?done=approved"
    status = client.get(f"{team.org.api}/jit/requests/{request_id}", headers=team.org.admin).json()
    assert status["status"] == "approved"
    [decision] = status["decisions"]
    assert decision["channel"] == "dashboard" and decision["comment"] == "Looks right"
    page = signed_in.get(resp.headers["location"])
    assert "Your approval is recorded" in page.text and "Looks right" in page.text


def test_denying_needs_a_reason(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    url = f"/dashboard/requests/{request_id}/deny"
    resp = signed_in.post(url, data={"csrf_token": csrf_from(signed_in), "reason": "  "})
    assert resp.status_code == 422 and "Say why" in resp.text
    resp = signed_in.post(url, data={"csrf_token": csrf_from(signed_in), "reason": "Too large"})
    assert resp.status_code == 303
    status = client.get(f"{team.org.api}/jit/requests/{request_id}", headers=team.org.admin).json()
    assert status["status"] == "denied" and status["reason"] == "Too large"


def test_second_decision_is_shown_as_a_page_not_an_error(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    url = f"/dashboard/requests/{request_id}/approve"
    signed_in.post(url, data={"csrf_token": csrf_from(signed_in)})
    resp = signed_in.post(url, data={"csrf_token": csrf_from(signed_in)})
    assert resp.status_code == 409
    assert "text/html" in resp.headers["content-type"] and "already" in resp.text


def test_owner_of_the_agent_may_not_approve(client, signed_in, team):
    owned = factories.register_agent(
        client, team.org, capabilities=["payments.authorize"], owner=team.approver["email"]
    )
    request_id = ask(client, team, agent=owned)["request_id"]
    resp = signed_in.post(
        f"/dashboard/requests/{request_id}/approve", data={"csrf_token": csrf_from(signed_in)}
    )
    assert resp.status_code == 403 and "owner" in resp.text


def test_failed_deliveries_are_listed_on_the_request(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    with session_scope() as session:
        session.add(
            Delivery(
                dedup_key=f"test:{request_id}:slack",
                request_id=request_id,
                channel="slack",
                kind="announce",
                target="#approvals",
                status="failed",
                attempts=5,
                last_error="channel_not_found",
                updated_at=datetime.now(UTC),
            )
        )
    page = signed_in.get(f"/dashboard/requests/{request_id}")
    assert "Notifications that failed" in page.text and "channel_not_found" in page.text


def test_requests_of_another_org_are_not_found(client, signed_in, team, other_org):
    stranger = factories.register_agent(client, other_org, capabilities=["payments.authorize"])
    carol = add_approver(client, other_org, "carol")
    factories.set_policy(
        client, other_org, "payments.authorize", "jit", approvers=[carol["approver_id"]]
    )
    resp = client.post(
        f"{other_org.api}/jit/requests",
        json={"permission": "payments.authorize", "justification": "x"},
        headers=stranger.bearer(client),
    )
    request_id = resp.json()["request_id"]
    page = signed_in.get(f"/dashboard/requests/{request_id}")
    assert page.status_code == 404 and "No such request" in page.text
    assert request_id not in signed_in.get("/dashboard/pending").text


def test_history_lists_decided_requests_with_filters(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    signed_in.post(
        f"/dashboard/requests/{request_id}/deny",
        data={"csrf_token": csrf_from(signed_in), "reason": "Not today"},
    )
    assert request_id in signed_in.get("/dashboard/history").text
    assert request_id in signed_in.get("/dashboard/history?status=denied").text
    assert request_id not in signed_in.get("/dashboard/history?status=approved").text
    assert request_id not in signed_in.get("/dashboard/history?agent=nobody").text


def test_audit_trail_with_filters(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    page = signed_in.get("/dashboard/audit?action=jit.request")
    assert page.status_code == 200 and request_id in page.text
    assert request_id not in signed_in.get("/dashboard/audit?action=jit.deny").text
    assert "dashboard.login" in signed_in.get("/dashboard/audit?since=2020-01-01T00:00").text


def test_bad_input_gets_friendly_pages_never_500(signed_in):
    for path, status in [
        ("/dashboard/requests/nope", 404),
        ("/dashboard/requests/" + "x" * 500, 404),
        ("/dashboard/no/such/page", 404),
        ("/dashboard/audit?since=yesterday", 400),
        ("/dashboard/audit?limit=-5&actor=%00", 400),  # NUL: refused before any query
        ("/dashboard/history?status=%3Cscript%3E&limit=abc", 200),
        ("/dashboard/static/..%2F..%2Fsettings.py", 404),
    ]:
        resp = signed_in.get(path)
        assert resp.status_code == status, (path, resp.status_code, resp.text[:200])
        assert "text/html" in resp.headers["content-type"], path
    resp = signed_in.post(
        "/dashboard/requests/nope/approve",
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert resp.status_code in (400, 403) and "text/html" in resp.headers["content-type"]


def test_static_files_are_served(browser):
    css = browser.get("/dashboard/static/dashboard.css")
    js = browser.get("/dashboard/static/dashboard.js")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert js.status_code == 200 and "WebSocket" in js.text


def test_pending_cards_show_the_operations_key_fields(client, signed_in, team):
    # Given a pending request for a refund of 4200 EUR
    ask(client, team, justification="Customer asked")
    # When the approver looks at the pending list
    page = signed_in.get("/dashboard/pending")
    # Then the card shows the amount and currency, not only the justification
    card = page.text[page.text.index('class="card"') :]
    assert 'class="op-fields"' in card
    assert "amount" in card and "4200" in card and "EUR" in card


def test_pages_name_a_favicon_that_is_served(browser):
    page = browser.get("/dashboard/login")
    assert 'rel="icon" href="/dashboard/static/favicon.svg"' in page.text
    icon = browser.get("/dashboard/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_a_limit_that_is_not_a_plain_number_is_ignored(signed_in):
    # "²".isdigit() is true but int() refuses it; int() refuses 5,000 digits (review 13)
    for path in ("/dashboard/history", "/dashboard/audit"):
        for limit in ("²", "9" * 5000, "１２"):
            assert signed_in.get(path, params={"limit": limit}).status_code == 200, (path, limit)

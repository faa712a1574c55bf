"""The dashboard and the email confirmation page show hidden characters in agent text visibly."""

from datetime import UTC, datetime, timedelta

from notifiers.email.links import LinkAction, make_link
from tests.dashboard.conftest import ask

RLO = "\u202e"
OPERATION = {"account": f"{RLO}9876-5432", "memo": "pay\u200bnow"}
JUSTIFICATION = f"Pay {RLO}9876-5432\u2066 now"


def _assert_shown_visibly(html: str) -> None:
    assert RLO not in html and "\u200b" not in html and "\u2066" not in html
    assert "⟨U+202E⟩9876-5432" in html and "pay⟨U+200B⟩now" in html and "⟨U+2066⟩" in html


def test_dashboard_pages_show_hidden_characters_as_escapes(client, team, signed_in):
    # given a request whose operation and justification hide a bidi override
    request_id = ask(client, team, operation=OPERATION, justification=JUSTIFICATION)["request_id"]
    # when the approver opens the request and the pending list
    detail = signed_in.get(f"/dashboard/requests/{request_id}")
    pending = signed_in.get("/dashboard/pending")
    # then both show the hidden characters as visible escapes
    assert detail.status_code == pending.status_code == 200
    _assert_shown_visibly(detail.text)
    assert RLO not in pending.text and "Pay ⟨U+202E⟩9876-5432⟨U+2066⟩ now" in pending.text


def test_email_confirmation_page_shows_hidden_characters_as_escapes(client, team):
    request_id = ask(client, team, operation=OPERATION, justification=JUSTIFICATION)["request_id"]
    url = make_link(
        "http://testserver",
        org_id=team.org.org_id,
        request_id=request_id,
        approver_id=team.approver["approver_id"],
        action=LinkAction.APPROVE,
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    page = client.get(url.removeprefix("http://testserver"))
    assert page.status_code == 200, page.text
    _assert_shown_visibly(page.text)

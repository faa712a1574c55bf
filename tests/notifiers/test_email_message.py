"""Email's wire format: text and HTML, links for one approver, safe headers and markup."""

from notifiers.email import message as wire
from tests.fakes.views import ALICE, decided, request_view

LINKS = wire.DecisionLinks("http://jg/approve-link/A.a", "http://jg/approve-link/D.d")


def build(view=None):
    return wire.request_message(
        view or request_view(),
        sender="jitgate@jg.example",
        recipient="alice@example.com",
        links=LINKS,
    )


def test_request_message_has_text_and_html_with_both_links():
    message = build()
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert LINKS.approve_url in body and LINKS.deny_url in body
        assert "billing-bot" in body and "payments.authorize" in body and "4200" in body
    assert message["To"] == "alice@example.com"
    assert "payments.authorize" in message["Subject"]
    assert message["Message-ID"].endswith("@jg.example>")


def test_html_escapes_what_the_agent_wrote():
    message = build(request_view(justification='<script>alert(1)</script><a href="x">'))
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_subject_cannot_carry_extra_headers():
    message = build(request_view(permission="x.y\r\nBcc: victim@example.com"))
    assert "\n" not in message["Subject"] and message["Bcc"] is None


def test_outcome_message_replies_in_the_thread_and_names_the_approver():
    view = decided(request_view(), "approved", (ALICE, "approve"))
    message = wire.outcome_message(
        view, sender="jitgate@jg.example", recipient="alice@example.com", in_reply_to="<m@jg>"
    )
    assert message["In-Reply-To"] == "<m@jg>"
    assert "was approved by Alice" in message.get_body(("plain",)).get_content()

"""What the approver sees is what they approve: invisible and direction-changing characters in
agent text are shown as visible escapes on every channel, and agent text is quoted as such."""

import json

import pytest

from notifiers.email import message as email_wire
from notifiers.formatting import visible
from notifiers.slack import blocks as slack_wire
from tests.fakes.views import request_view

RLO = "\u202e"  # right-to-left override: "\u202e9876-5432" is displayed as "2345-6789"
SPOOFED = {"account": f"{RLO}9876-5432", "memo": "pay\u200bnow\u2066x\u2069", "end": "x\ufeff"}
INVISIBLE = (
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    RLO,
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\x85",
    "\x7f",
    "\u00ad",
    "\u2028",
    "\u2029",
    "\U000e0041",
)
LINKS = email_wire.DecisionLinks("http://jg/approve-link/A.a", "http://jg/approve-link/D.d")
EVIL = "Approve: https://evil.example/approve\nDeny:    https://evil.example/deny"


@pytest.mark.parametrize("char", INVISIBLE)
def test_each_invisible_character_becomes_a_visible_escape(char):
    shown = visible(f"a{char}b")
    assert char not in shown and shown == f"a⟨U+{ord(char):04X}⟩b"


def test_ordinary_text_newlines_and_non_latin_scripts_are_left_alone():
    text = "Refund 1234 €\nfür Zoë, 東京, مرحبا\tdone"
    assert visible(text) == text


def _no_invisible(text: str) -> None:
    assert not any(c in text for c in INVISIBLE), repr(text)
    assert "⟨U+202E⟩9876-5432" in text and "pay⟨U+200B⟩now" in text


def test_slack_blocks_show_invisible_characters_as_escapes():
    view = request_view(operation=SPOOFED, justification=f"for {RLO}9876-5432 pay\u200bnow")
    for message in (slack_wire.pending_message(view), slack_wire.outcome_message(view)):
        _no_invisible(json.dumps(message["blocks"], ensure_ascii=False))


def _email_parts(view):
    message = email_wire.request_message(
        view, sender="jitgate@jg.example", recipient="alice@example.com", links=LINKS
    )
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_email_text_and_html_show_invisible_characters_as_escapes():
    view = request_view(operation=SPOOFED, justification=f"for {RLO}9876-5432 pay\u200bnow")
    for part in _email_parts(view):
        _no_invisible(part)


def test_email_text_quotes_the_agents_justification_apart_from_the_real_links():
    # given an agent that writes look-alike decision links into its justification
    text, _ = _email_parts(request_view(justification=EVIL))
    # then each of its lines is quoted under a heading that says who wrote it
    assert "Agent's justification (written by the agent):" in text
    assert "> Approve: https://evil.example/approve\n> Deny:    https://evil.example/deny" in text
    # and no unquoted line offers a decision except jitgate's own links, after the agent's text
    offers = [line for line in text.splitlines() if line.startswith(("Approve:", "Deny:"))]
    assert offers == [f"Approve: {LINKS.approve_url}", f"Deny:    {LINKS.deny_url}"]
    assert text.index(LINKS.approve_url) > text.index("evil.example/deny")

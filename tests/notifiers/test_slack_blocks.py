"""Slack's wire format: buttons, signed button values, escaping, outcome messages."""

import json

import pytest

from notifiers.slack import blocks
from notifiers.slack.blocks import ActionId, BlockType, ButtonStyle, TamperedButton
from tests.fakes.views import ALICE, BOB, decided, request_view


def _actions(message: dict) -> list[dict]:
    return [b for b in message["blocks"] if b["type"] == BlockType.ACTIONS]


def _all_text(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_pending_message_has_approve_with_confirm_and_deny_buttons():
    message = blocks.pending_message(request_view())
    [actions] = _actions(message)
    approve, deny = actions["elements"]
    assert (approve["action_id"], approve["style"]) == (ActionId.APPROVE, ButtonStyle.PRIMARY)
    assert (deny["action_id"], deny["style"]) == (ActionId.DENY, ButtonStyle.DANGER)
    assert "confirm" in approve and approve["confirm"]["confirm"]["text"] == "Approve"
    assert "billing-bot" in message["text"] and "payments.authorize" in message["text"]


def test_pending_message_shows_agent_permission_justification_operation_ttl_deadline():
    view = request_view()
    text = _all_text(blocks.pending_message(view))
    for expected in (
        "billing-bot",
        "payments.authorize",
        view.justification,
        "4200",
        "10m",
    ):
        assert expected in text
    assert f"<!date^{int(view.pending_deadline.timestamp())}^" in text


def test_button_value_names_org_and_request_and_round_trips():
    view = request_view()
    [actions] = _actions(blocks.pending_message(view))
    value = actions["elements"][0]["value"]
    assert blocks.parse_button_value(value) == (view.org_id, view.request_id)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v.replace("org_acme", "org_other"),
        lambda v: v.replace("jit_0123", "jit_9999"),
        lambda v: v.rsplit("|", 1)[0] + "|AAAA",
        lambda v: "org_acme|jit_x",
        lambda v: "",
    ],
)
def test_tampered_button_value_is_refused(mutate):
    value = blocks.button_value("org_acme", "jit_0123456789abcdef01234567")
    with pytest.raises(TamperedButton):
        blocks.parse_button_value(mutate(value))


def test_agent_text_cannot_mention_channel_or_fake_links():
    view = request_view(
        agent_name="bot", justification="<!channel> please <https://evil.example|click>"
    )
    message = blocks.pending_message(view)
    [justification] = [
        b for b in message["blocks"] if b.get("text", {}).get("text", "").startswith("<!channel>")
    ]
    assert justification["text"]["type"] == "plain_text"  # shown literally, never parsed
    assert "<!channel>" not in message["text"]


def test_huge_operation_is_truncated_and_points_to_the_dashboard():
    view = request_view(operation={"blob": "x" * 9000})
    message = blocks.pending_message(view, dashboard_url="http://jg/dashboard/requests/jit_1")
    [rich] = [b for b in message["blocks"] if b["type"] == BlockType.RICH_TEXT]
    text = rich["elements"][0]["elements"][0]["text"]
    assert len(text) < 3100 and "truncated" in text
    assert "http://jg/dashboard/requests/jit_1" in _all_text(message)


def test_outcome_message_has_no_buttons_and_names_who_approved():
    view = decided(request_view(), "approved", (ALICE, "approve"))
    message = blocks.outcome_message(view)
    assert _actions(message) == []
    assert "Approved by Alice (slack)" in _all_text(message)


def test_outcome_message_for_a_denial_shows_the_reason():
    view = decided(request_view(decision_reason="not today"), "denied", (BOB, "deny"))
    text = _all_text(blocks.outcome_message(view))
    assert "Denied by Bob (slack): not today" in text


@pytest.mark.parametrize(
    ("status", "words"),
    [("expired", "Expired"), ("cancelled", "Cancelled"), ("consumed", "Approved")],
)
def test_outcome_message_for_requests_nobody_decided(status, words):
    text = _all_text(blocks.outcome_message(request_view(status=status)))
    assert words in text


def test_long_permission_fits_the_header_limit():
    view = request_view(permission="a." + "b" * 190)
    header = blocks.pending_message(view)["blocks"][0]
    assert len(header["text"]["text"]) <= 150

"""Slack's wire format for a JIT request: Block Kit messages, button values, action ids.

Everything an agent wrote (justification, operation) is shown as plain text or preformatted
rich text, never as mrkdwn, so an agent cannot ping `@channel` or dress up a link.
"""

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.core.secrets import sign_value, verify_signed_value
from notifiers.base import RequestView
from notifiers.formatting import Outcome, deciders, format_ttl, outcome_of, visible

BUTTON_VALUE_PURPOSE = "slack-button"
BUTTON_VALUE_SEPARATOR = "|"
DECISION_BLOCK_ID = "jitgate_decision"
# Slack refuses a section text over 3000 characters; the whole operation is in the dashboard.
MAX_TEXT_CHARS = 2900
MAX_FALLBACK_CHARS = 300
MAX_HEADER_CHARS = 150
MAX_CONFIRM_CHARS = 300


class ActionId(StrEnum):
    APPROVE = "jitgate_approve"
    DENY = "jitgate_deny"


class ButtonStyle(StrEnum):
    PRIMARY = "primary"
    DANGER = "danger"


class BlockType(StrEnum):
    HEADER = "header"
    SECTION = "section"
    CONTEXT = "context"
    ACTIONS = "actions"
    DIVIDER = "divider"
    RICH_TEXT = "rich_text"
    RICH_TEXT_PREFORMATTED = "rich_text_preformatted"
    BUTTON = "button"
    TEXT = "text"


class TextType(StrEnum):
    PLAIN = "plain_text"
    MRKDWN = "mrkdwn"


OUTCOME_HEADLINES = {
    Outcome.APPROVED: ":white_check_mark: Approved",
    Outcome.DENIED: ":no_entry: Denied",
    Outcome.EXPIRED: ":hourglass: Expired: nobody decided before the deadline",
    Outcome.CANCELLED: ":heavy_multiplication_x: Cancelled by the agent",
}


class TamperedButton(ValueError):
    """A button value that jitgate did not write (bad shape or bad MAC)."""


def button_value(org_id: str, request_id: str) -> str:
    """`org|request|mac`: the MAC stops a forged value naming another org's request."""
    body = BUTTON_VALUE_SEPARATOR.join((org_id, request_id))
    return BUTTON_VALUE_SEPARATOR.join((body, sign_value(BUTTON_VALUE_PURPOSE, body)))


def parse_button_value(value: str) -> tuple[str, str]:
    """Return (org_id, request_id) from a value made by `button_value`, or raise."""
    parts = value.split(BUTTON_VALUE_SEPARATOR)
    if len(parts) != 3 or not all(parts):
        raise TamperedButton("button value is not jitgate's")
    org_id, request_id, mac = parts
    body = BUTTON_VALUE_SEPARATOR.join((org_id, request_id))
    if not verify_signed_value(BUTTON_VALUE_PURPOSE, body, mac):
        raise TamperedButton("button value signature does not match")
    return org_id, request_id


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; enough to stop mentions and links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(moment: datetime) -> str:
    """Slack renders this in each reader's time zone; the fallback is UTC ISO 8601."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{moment.isoformat()}>"


def _truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int = MAX_TEXT_CHARS) -> dict[str, Any]:
    return {"type": TextType.PLAIN, "text": _truncate(text, limit) or " ", "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": TextType.MRKDWN, "text": _truncate(text)}


def fallback_text(request: RequestView) -> str:
    """The notification and screen-reader text that accompanies the blocks."""
    text = f"Approval needed: {visible(request.requester)} asks for {request.permission}"
    return escape_mrkdwn(_truncate(text, MAX_FALLBACK_CHARS))


def request_blocks(request: RequestView, *, dashboard_url: str | None = None) -> list[dict]:
    """The blocks describing the request, shared by the pending and the final messages."""
    fields = [
        _mrkdwn(f"*Agent*\n{escape_mrkdwn(visible(request.requester))}"),
        _mrkdwn(f"*Permission*\n`{escape_mrkdwn(request.permission)}`"),
        _mrkdwn(f"*Requested token lifetime*\n{format_ttl(request.requested_ttl)}"),
        _mrkdwn(f"*Decide before*\n{slack_date(request.pending_deadline)}"),
    ]
    if request.approvals_required > 1:
        fields.append(_mrkdwn(f"*Approvals required*\n{request.approvals_required}"))
    if request.chain:
        fields.append(_mrkdwn(f"*Chain of agency*\n{escape_mrkdwn(visible(request.chain))}"))
    if request.resource:
        fields.append(_mrkdwn(f"*Token only for*\n`{escape_mrkdwn(visible(request.resource))}`"))
    blocks: list[dict] = [
        {
            "type": BlockType.HEADER,
            "text": _plain("Approval needed: " + request.permission, MAX_HEADER_CHARS),
        },
        {"type": BlockType.SECTION, "fields": fields},
        {"type": BlockType.SECTION, "text": _mrkdwn("*Justification* (written by the agent)")},
        {"type": BlockType.SECTION, "text": _plain(visible(request.justification))},
        _operation_block(request.operation),
    ]
    context = f"Request `{escape_mrkdwn(request.request_id)}`"
    if dashboard_url:
        context += f" · <{dashboard_url}|Open in the dashboard>"
    blocks.append({"type": BlockType.CONTEXT, "elements": [_mrkdwn(context)]})
    return blocks


def _operation_block(operation: dict[str, Any]) -> dict[str, Any]:
    text = visible(json.dumps(operation, indent=2, sort_keys=True, ensure_ascii=False))
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + "\n… (truncated: see the dashboard for the whole operation)"
    preformatted = {
        "type": BlockType.RICH_TEXT_PREFORMATTED,
        "elements": [{"type": BlockType.TEXT, "text": text}],
    }
    return {"type": BlockType.RICH_TEXT, "elements": [preformatted]}


def _button(action: ActionId, label: str, style: ButtonStyle, value: str) -> dict[str, Any]:
    return {
        "type": BlockType.BUTTON,
        "action_id": action,
        "text": _plain(label),
        "style": style,
        "value": value,
    }


def _approve_confirm(request: RequestView) -> dict[str, Any]:
    return {
        "title": _plain("Approve this request?"),
        "text": _plain(
            f"{visible(request.requester)} gets a single-use token for {request.permission}, "
            "for this exact operation only.",
            MAX_CONFIRM_CHARS,
        ),
        "confirm": _plain("Approve"),
        "deny": _plain("Cancel"),
        "style": ButtonStyle.PRIMARY,
    }


def pending_message(request: RequestView, *, dashboard_url: str | None = None) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage: the request with Approve and Deny buttons."""
    value = button_value(request.org_id, request.request_id)
    approve = _button(ActionId.APPROVE, "Approve", ButtonStyle.PRIMARY, value)
    approve["confirm"] = _approve_confirm(request)
    deny = _button(ActionId.DENY, "Deny", ButtonStyle.DANGER, value)
    actions = {
        "type": BlockType.ACTIONS,
        "block_id": DECISION_BLOCK_ID,
        "elements": [approve, deny],
    }
    blocks = request_blocks(request, dashboard_url=dashboard_url) + [actions]
    return {"text": fallback_text(request), "blocks": blocks}


def outcome_line(request: RequestView) -> str:
    """Who decided what, e.g. ':white_check_mark: Approved by Alice (slack)'."""
    outcome = outcome_of(request.status)
    headline = OUTCOME_HEADLINES[outcome] if outcome else f"Status: {escape_mrkdwn(request.status)}"
    decided_by = deciders(request)
    if decided_by:
        names = ", ".join(
            f"{escape_mrkdwn(d.approver_label)} ({escape_mrkdwn(d.channel)})" for d in decided_by
        )
        headline += f" by {names}"
    if outcome is Outcome.DENIED and request.decision_reason:
        headline += f": {escape_mrkdwn(visible(request.decision_reason))}"
    return _truncate(headline)


def outcome_message(request: RequestView, *, dashboard_url: str | None = None) -> dict[str, Any]:
    """`text` and `blocks` for chat.update: the request without buttons, and how it ended."""
    line = outcome_line(request)
    blocks = request_blocks(request, dashboard_url=dashboard_url)
    blocks.append({"type": BlockType.DIVIDER})
    blocks.append({"type": BlockType.SECTION, "text": _mrkdwn(line)})
    return {"text": f"{line}: {fallback_text(request)}", "blocks": blocks}


def ephemeral_text(text: str) -> str:
    """Replies to one person; may quote errors that contain user input."""
    return escape_mrkdwn(_truncate(text, MAX_FALLBACK_CHARS))

"""Approvers see which server a JIT token will be good for (RFC 8707 resource), on every channel."""

import json

from notifiers.email.message import DecisionLinks, request_message
from notifiers.slack.blocks import request_blocks
from tests.fakes.views import request_view

RESOURCE = "https://payments.example/api"


def test_slack_blocks_name_the_resource():
    blocks = json.dumps(request_blocks(request_view(resource=RESOURCE)))
    assert "Token only for" in blocks and RESOURCE in blocks
    assert "Token only for" not in json.dumps(request_blocks(request_view()))


def test_both_email_parts_name_the_resource():
    links = DecisionLinks(approve_url="https://j.example/a", deny_url="https://j.example/d")
    message = request_message(
        request_view(resource=RESOURCE),
        sender="j@example.com",
        recipient="a@example.com",
        links=links,
    )
    text, html = (part.get_content() for part in message.iter_parts())
    assert f"Token only for: {RESOURCE}" in text
    assert f"Token only for: <code>{RESOURCE}</code>" in html

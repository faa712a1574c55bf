"""A request made with a delegated token, as each channel words it (plain data, no database)."""

import json

from notifiers import webhook
from notifiers.email.message import DecisionLinks, request_message
from notifiers.slack.blocks import fallback_text, request_blocks
from tests.fakes.views import request_view


def delegated(**extra):
    fields = {"on_behalf_of": "alice@acme.com", **extra}
    return request_view(
        agent_name="mailer-bot", actor_names=("planner-bot", "mailer-bot"), **fields
    )


def test_every_channel_names_the_agent_for_the_user_and_the_chain():
    view = delegated()
    assert view.requester == "mailer-bot for alice@acme.com"
    chain = "alice@acme.com → planner-bot → mailer-bot"
    assert "mailer-bot for alice@acme.com" in fallback_text(view)
    assert chain in json.dumps(request_blocks(view), ensure_ascii=False)
    links = DecisionLinks("https://jg.example/a", "https://jg.example/d")
    mail = request_message(view, sender="jg@jg.example", recipient="a@x.example", links=links)
    assert "mailer-bot for alice@acme.com" in mail["Subject"]
    assert chain in mail.get_body(("plain",)).get_content()
    body = json.loads(webhook.event_body(view, event="jit_request.pending", event_id="e1"))
    assert body["request"]["on_behalf_of"] == "alice@acme.com"
    assert body["request"]["actor_names"] == ["planner-bot", "mailer-bot"]


def test_a_user_name_with_hidden_characters_is_shown_as_code_points():
    view = delegated(on_behalf_of="alice\u202e@acme.com")
    assert "⟨U+202E⟩" in fallback_text(view)


def test_an_agents_own_request_reads_as_before():
    view = request_view(agent_name="planner-bot")
    assert view.requester == "planner-bot" and view.chain is None
    body = json.loads(webhook.event_body(view, event="jit_request.pending", event_id="e1"))
    assert "on_behalf_of" not in body["request"]

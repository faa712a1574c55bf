"""The Slack notifier against a local server speaking Slack's Web API."""

import pytest

from app.settings import Settings
from notifiers.base import NotifierRejected, NotifierUnavailable, Target
from notifiers.slack.blocks import BlockType
from notifiers.slack.client import SlackClient, SlackMethod
from notifiers.slack.notifier import SlackNotifier
from tests.fakes.slack_api import FAIL_RATELIMITED, FAIL_SERVER_ERROR
from tests.fakes.views import ALICE, decided, request_view


def notifier_for(api, **settings) -> SlackNotifier:
    values = {"slack_bot_token": "xoxb-test", "slack_api_url": api.base_url, **settings}
    return SlackNotifier(settings=Settings(**values))


def test_targets_are_the_policy_channel_when_it_names_one():
    targets = SlackNotifier(settings=Settings()).targets(
        request_view(channel_settings={"slack": {"slack_channel": "C0APPROVE"}})
    )
    assert targets == [Target(address="C0APPROVE")]


def test_targets_are_dms_to_approvers_with_a_slack_user_id_otherwise():
    targets = SlackNotifier(settings=Settings()).targets(request_view())
    assert targets == [Target(address="U0ALICE", approver=ALICE)]


def test_announce_posts_the_block_kit_message_with_the_bot_token(slack_api):
    reference = notifier_for(slack_api).announce(request_view(), Target(address="C0APPROVE"))
    [call] = slack_api.calls(SlackMethod.POST_MESSAGE)
    assert call.authorization == "Bearer xoxb-test"
    assert call.params["channel"] == "C0APPROVE"
    assert any(b["type"] == BlockType.ACTIONS for b in call.params["blocks"])
    assert reference == {"channel": "C0APPROVE", "ts": "1700000000.000001"}


def test_a_dm_is_updated_in_the_dm_channel_slack_answered_with(slack_api):
    notifier = notifier_for(slack_api)
    target = Target(address="U0ALICE", approver=ALICE)
    reference = notifier.announce(request_view(), target)
    assert reference is not None and reference["channel"] == "D0ALICE"
    notifier.show_outcome(
        decided(request_view(), "approved", (ALICE, "approve")), target, reference
    )
    [update] = slack_api.calls(SlackMethod.UPDATE)
    assert (update.params["channel"], update.params["ts"]) == ("D0ALICE", reference["ts"])
    assert not any(b["type"] == BlockType.ACTIONS for b in update.params["blocks"])
    assert "Approved by Alice" in str(update.params["blocks"])


def test_show_outcome_without_a_reference_posts_nothing(slack_api):
    notifier_for(slack_api).show_outcome(request_view(status="expired"), Target("C1"), None)
    assert slack_api.calls() == []


@pytest.mark.parametrize("mode", [FAIL_SERVER_ERROR, FAIL_RATELIMITED])
def test_server_errors_and_rate_limits_are_transient(slack_api, mode):
    slack_api.fail_next(1, mode)
    with pytest.raises(NotifierUnavailable):
        notifier_for(slack_api).announce(request_view(), Target("C1"))


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel"])
def test_configuration_errors_are_permanent(slack_api, error):
    slack_api.answer_error(SlackMethod.POST_MESSAGE, error)
    with pytest.raises(NotifierRejected, match=error):
        notifier_for(slack_api).announce(request_view(), Target("C1"))


def test_an_unreachable_slack_is_transient(slack_api):
    url = slack_api.base_url
    slack_api.close()
    with pytest.raises(NotifierUnavailable):
        notifier_for(slack_api, slack_api_url=url).announce(request_view(), Target("C1"))


def test_without_a_bot_token_slack_is_rejected_not_retried():
    with pytest.raises(NotifierRejected):
        SlackNotifier(settings=Settings(slack_bot_token=None)).announce(
            request_view(), Target("C1")
        )


def test_base_url_without_trailing_slash_still_reaches_the_api(slack_api):
    client = SlackClient(
        Settings(slack_bot_token="xoxb-test", slack_api_url=slack_api.base_url.rstrip("/"))
    )
    client.post_ephemeral(channel="C1", user="U1", text="hi")
    assert [c.method for c in slack_api.calls()] == [SlackMethod.POST_EPHEMERAL]


def test_an_outage_is_retried_until_the_message_is_delivered_once(slack_api):
    """What the notify task does with autoretry_for=(NotifierUnavailable,): try again later."""
    slack_api.fail_next(2, FAIL_SERVER_ERROR)
    slack_api.fail_next(1, FAIL_RATELIMITED)
    notifier = notifier_for(slack_api)
    reference = None
    for _attempt in range(5):
        try:
            reference = notifier.announce(request_view(), Target("C1"))
            break
        except NotifierUnavailable:
            continue
    assert reference is not None
    assert slack_api.attempts == 4
    assert len(slack_api.calls(SlackMethod.POST_MESSAGE)) == 1

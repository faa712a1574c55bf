"""Approvers decide in Slack: the message is posted, a signed click decides, the message updates."""

import time

import pytest

from app.core.secrets import sign_value
from notifiers.slack.blocks import ActionId, BlockType, button_value
from notifiers.slack.client import SlackMethod
from tests import factories
from tests.channels.conftest import SIGNING_SECRET
from tests.channels.flow import (
    INTERACTIONS_URL,
    PERMISSION,
    add_approver,
    ask,
    click_body,
    slack_headers,
    status_of,
    wait_for,
)
from tests.fakes.slack_api import FAIL_RATELIMITED, FAIL_SERVER_ERROR


def jit_policy(client, org, approvers, **extra):
    extra.setdefault("slack_channel", "C0APPROVE")
    ids = [a["approver_id"] for a in approvers]
    return factories.set_policy(
        client, org, PERMISSION, "jit", approvers=ids, channels=["slack"], **extra
    )


def posted_value(slack, request_id: str) -> str:
    """The Approve button's value in the message Slack received for request_id."""

    def find():
        for call in slack.calls(SlackMethod.POST_MESSAGE):
            for block in call.params["blocks"]:
                if (
                    block["type"] == BlockType.ACTIONS
                    and request_id in block["elements"][0]["value"]
                ):
                    return block["elements"][0]["value"]
        return None

    return wait_for(find)


def click(client, value: str, *, user: str, action: str = ActionId.APPROVE, **headers_kw):
    body = click_body(value, user=user, action=action)
    return client.post(
        INTERACTIONS_URL, content=body, headers=slack_headers(body, SIGNING_SECRET, **headers_kw)
    )


def updates_mentioning(slack, text: str):
    return [c for c in slack.calls(SlackMethod.UPDATE) if text in str(c.params["blocks"])]


@pytest.fixture
def alice(client, org):
    return add_approver(client, org, "alice", slack_user_id="U0ALICE")


def test_clicking_approve_approves_the_request_and_updates_the_message(
    client, org, agent, slack, alice
):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    value = posted_value(slack, request_id)

    started = time.monotonic()
    resp = click(client, value, user="U0ALICE")
    assert resp.status_code == 200 and time.monotonic() - started < 3

    assert status_of(client, org, request_id)["status"] == "approved"
    [update] = wait_for(lambda: updates_mentioning(slack, "Approved by Alice (slack)"))
    [post] = slack.calls(SlackMethod.POST_MESSAGE)
    assert update.params["ts"] == post_ts(slack, post)
    assert not any(b["type"] == BlockType.ACTIONS for b in update.params["blocks"])


def post_ts(slack, post) -> str:
    # The fake numbers messages in order; the first post got the first ts.
    return "1700000000.000001"


def test_clicking_deny_denies_the_request(client, org, agent, slack, alice):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    assert (
        click(
            client, posted_value(slack, request_id), user="U0ALICE", action=ActionId.DENY
        ).status_code
        == 200
    )
    assert status_of(client, org, request_id)["status"] == "denied"
    wait_for(lambda: updates_mentioning(slack, "Denied by Alice (slack)"))


def test_without_a_channel_approvers_get_a_dm_that_is_updated_in_place(
    client, org, agent, slack, alice
):
    jit_policy(client, org, [alice], slack_channel=None)
    request_id = ask(client, agent)["request_id"]
    value = posted_value(slack, request_id)
    assert slack.calls(SlackMethod.POST_MESSAGE)[0].params["channel"] == "U0ALICE"
    click(client, value, user="U0ALICE")
    [update] = wait_for(lambda: updates_mentioning(slack, "Approved by"))
    assert update.params["channel"] == "D0ALICE"


def test_a_decision_from_another_channel_updates_the_slack_message(
    client, org, agent, slack, alice
):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    posted_value(slack, request_id)
    resp = client.post(
        f"{org.api}/jit/requests/{request_id}/approve",
        json={"comment": "ok"},
        headers={"Authorization": f"Bearer {alice['api_token']}"},
    )
    assert resp.status_code == 200, resp.text
    wait_for(lambda: updates_mentioning(slack, "Approved by Alice (api)"))


def test_a_cancelled_request_updates_the_slack_message(client, org, agent, slack, alice):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    posted_value(slack, request_id)
    resp = client.post(f"{org.api}/jit/requests/{request_id}/cancel", headers=agent.bearer(client))
    assert resp.status_code == 200, resp.text
    wait_for(lambda: updates_mentioning(slack, "Cancelled"))


def test_an_expired_request_updates_the_slack_message(client, org, agent, slack, alice):
    from datetime import timedelta

    from app.core.columns import utcnow
    from app.core.db import session_scope
    from app.jit import state_machine as jit

    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    posted_value(slack, request_id)
    with session_scope() as session:
        assert jit.expire(session, request_id=request_id, now=utcnow() + timedelta(hours=1))
    wait_for(lambda: updates_mentioning(slack, "Expired"))


def test_an_unknown_slack_user_gets_an_ephemeral_refusal_and_decides_nothing(
    client, org, agent, slack, alice
):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    resp = click(client, posted_value(slack, request_id), user="U0MALLORY")
    assert resp.status_code == 200
    [reply] = slack.calls(SlackMethod.POST_EPHEMERAL)
    assert reply.params["user"] == "U0MALLORY" and "not registered" in reply.params["text"]
    assert status_of(client, org, request_id)["status"] == "pending"


def test_a_slack_user_outside_the_policys_approvers_is_refused(client, org, agent, slack, alice):
    add_approver(client, org, "bob", slack_user_id="U0BOB")
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    click(client, posted_value(slack, request_id), user="U0BOB")
    [reply] = slack.calls(SlackMethod.POST_EPHEMERAL)
    assert reply.params["user"] == "U0BOB" and "not recorded" in reply.params["text"]
    assert status_of(client, org, request_id)["status"] == "pending"


def test_when_more_approvals_are_needed_the_clicker_is_told_privately(
    client, org, agent, slack, alice
):
    bob = add_approver(client, org, "bob", slack_user_id="U0BOB")
    jit_policy(client, org, [alice, bob], approvals_required=2)
    request_id = ask(client, agent)["request_id"]
    value = posted_value(slack, request_id)
    click(client, value, user="U0ALICE")
    [reply] = slack.calls(SlackMethod.POST_EPHEMERAL)
    assert "more approvals" in reply.params["text"]
    assert status_of(client, org, request_id)["status"] == "pending"
    click(client, value, user="U0BOB")
    assert status_of(client, org, request_id)["status"] == "approved"
    wait_for(lambda: updates_mentioning(slack, "Approved by Alice (slack), Bob (slack)"))


def test_a_bad_signature_is_refused(client, org, agent, slack, alice):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    body = click_body(posted_value(slack, request_id), user="U0ALICE", action=ActionId.APPROVE)
    resp = client.post(
        INTERACTIONS_URL, content=body, headers=slack_headers(body, "not-the-secret")
    )
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_signature"
    assert status_of(client, org, request_id)["status"] == "pending"


def test_a_stale_timestamp_is_refused(client, org, agent, slack, alice):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    resp = click(
        client, posted_value(slack, request_id), user="U0ALICE", timestamp=time.time() - 301
    )
    assert resp.status_code == 401 and resp.json()["error"] == "stale_timestamp"
    assert status_of(client, org, request_id)["status"] == "pending"


def test_a_replayed_click_is_refused(client, org, agent, slack, alice):
    bob = add_approver(client, org, "bob", slack_user_id="U0BOB")
    jit_policy(client, org, [alice, bob], approvals_required=2)
    request_id = ask(client, agent)["request_id"]
    body = click_body(posted_value(slack, request_id), user="U0ALICE", action=ActionId.APPROVE)
    headers = slack_headers(body, SIGNING_SECRET)
    assert client.post(INTERACTIONS_URL, content=body, headers=headers).status_code == 200
    replay = client.post(INTERACTIONS_URL, content=body, headers=headers)
    assert replay.status_code == 401 and replay.json()["error"] == "replayed_request"


def test_a_tampered_button_value_naming_another_orgs_request_is_refused(
    client, org, other_org, agent, slack, alice
):
    other_agent = factories.register_agent(client, other_org, capabilities=[PERMISSION])
    other_alice = add_approver(client, other_org, "alice", slack_user_id="U0OTHER")
    jit_policy(client, other_org, [other_alice])
    jit_policy(client, org, [alice])
    theirs = ask(client, other_agent)["request_id"]
    ours = ask(client, agent)["request_id"]
    value = posted_value(slack, ours)
    forged = value.replace(ours, theirs)
    resp = click(client, forged, user="U0ALICE")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_button_value"
    assert status_of(client, other_org, theirs)["status"] == "pending"


def test_a_validly_signed_value_for_another_orgs_request_still_decides_nothing(
    client, org, other_org, agent, slack, alice
):
    """Defence in depth: even if the button MAC key leaked, org boundaries hold."""
    other_agent = factories.register_agent(client, other_org, capabilities=[PERMISSION])
    other_alice = add_approver(client, other_org, "alice", slack_user_id="U0OTHER")
    jit_policy(client, other_org, [other_alice])
    theirs = ask(client, other_agent)["request_id"]
    assert sign_value  # the server's own key signs the forgery below
    resp = click(client, button_value(org.org_id, theirs), user="U0ALICE")
    assert resp.status_code == 200
    [reply] = slack.calls(SlackMethod.POST_EPHEMERAL)
    assert "does not exist" in reply.params["text"]
    assert status_of(client, other_org, theirs)["status"] == "pending"


def test_a_slack_outage_is_retried_and_the_message_delivered_once(client, org, agent, slack, alice):
    jit_policy(client, org, [alice])
    slack.fail_next(1, FAIL_SERVER_ERROR)
    slack.fail_next(1, FAIL_RATELIMITED)
    request_id = ask(client, agent)["request_id"]
    posted_value(slack, request_id)
    assert slack.attempts == 3
    time.sleep(1)  # a duplicate would show up here
    assert len(slack.calls(SlackMethod.POST_MESSAGE)) == 1


def test_a_click_on_a_request_decided_elsewhere_is_refused_privately(
    client, org, agent, slack, alice
):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    value = posted_value(slack, request_id)
    client.post(f"{org.api}/jit/requests/{request_id}/cancel", headers=agent.bearer(client))
    assert click(client, value, user="U0ALICE").status_code == 200
    [reply] = slack.calls(SlackMethod.POST_EPHEMERAL)
    assert "not recorded" in reply.params["text"] and "cancelled" in reply.params["text"]
    assert status_of(client, org, request_id)["status"] == "cancelled"


def _quiet(slack, seconds: float = 0.5, limit: float = 10.0) -> int:
    """How many calls the fake has had, once none came for `seconds`: an earlier test's late
    notification (the embedded worker reads the Slack URL when it runs) may still land here."""
    deadline = time.monotonic() + limit
    seen = len(slack.calls())
    while time.monotonic() < deadline:
        time.sleep(seconds)
        now = len(slack.calls())
        if now == seen:
            return now
        seen = now
    raise AssertionError("the fake Slack API never went quiet")


def test_interactions_that_are_not_jitgate_buttons_are_acknowledged_and_ignored(client, slack):
    before = _quiet(slack)
    body = b"payload=" + b'{"type":"view_closed"}'.replace(b'"', b"%22")
    resp = client.post(INTERACTIONS_URL, content=body, headers=slack_headers(body, SIGNING_SECRET))
    assert resp.status_code == 200
    assert _quiet(slack) == before  # nothing was posted or updated for it


def test_a_disabled_approver_s_click_decides_nothing(client, org, agent, slack, alice):
    jit_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    value = posted_value(slack, request_id)
    resp = client.patch(
        f"{org.api}/approvers/{alice['approver_id']}",
        json={"status": "disabled"},
        headers=org.admin,
    )
    assert resp.status_code == 200, resp.text

    assert click(client, value, user="U0ALICE").status_code == 200

    assert status_of(client, org, request_id)["status"] == "pending"
    [reply] = wait_for(lambda: slack.calls(SlackMethod.POST_EPHEMERAL))
    assert "not recorded" in str(reply.params) and "disabled" in str(reply.params)

"""A JIT request made with a delegated token (RFC 8693): approvers read "planner-bot for
alice@acme.com" in Slack and in email, and the request keeps the chain."""

import pytest

from notifiers.slack.client import SlackMethod
from tests import factories
from tests.channels.flow import OPERATION, PERMISSION, add_approver, status_of, wait_for
from tests.federation.users import ALICE, acting_for_alice
from tests.helpers import audit_events

REQUESTER = f"planner-bot for {ALICE}"


@pytest.fixture
def planner(client, org):
    return factories.register_agent(
        client, org, capabilities=[PERMISSION, "delegation.act"], name="planner-bot"
    )


def ask_for_alice(client, planner) -> dict:
    token = acting_for_alice(client, planner)
    body = {
        "permission": PERMISSION,
        "justification": "Alice asked for the refund of order 1234",
        "operation": OPERATION,
    }
    headers = {"Authorization": f"Bearer {token}"}
    resp = client.post(f"{planner.org.api}/jit/requests", json=body, headers=headers)
    assert resp.status_code == 202, resp.text
    return resp.json()


def test_request_keeps_the_user_and_the_chain(client, org, planner):
    approver = add_approver(client, org, "carol")
    factories.set_policy(client, org, PERMISSION, "jit", approvers=[approver["approver_id"]])
    made = ask_for_alice(client, planner)
    assert made["on_behalf_of"] == ALICE
    assert made["actor_chain"] == [{"sub": planner.agent_id, "agent": "planner-bot"}]
    assert status_of(client, org, made["request_id"])["on_behalf_of"] == ALICE
    [event] = audit_events(client, org, action="jit.request", limit=1)
    assert event["details"]["on_behalf_of"] == ALICE


def test_slack_message_shows_the_agent_and_the_user(client, org, planner, slack):
    approver = add_approver(client, org, "carol", slack_user_id="U0CAROL")
    factories.set_policy(
        client,
        org,
        PERMISSION,
        "jit",
        approvers=[approver["approver_id"]],
        channels=["slack"],
        slack_channel="C0APPROVE",
    )
    request_id = ask_for_alice(client, planner)["request_id"]

    def posted():
        calls = slack.calls(SlackMethod.POST_MESSAGE)
        return [c for c in calls if request_id in str(c.params["blocks"])]

    [post] = wait_for(posted)
    assert REQUESTER in str(post.params["blocks"])
    assert REQUESTER in post.params["text"]


def test_email_shows_the_agent_and_the_user(client, org, planner, smtp):
    approver = add_approver(client, org, "carol")
    factories.set_policy(
        client, org, PERMISSION, "jit", approvers=[approver["approver_id"]], channels=["email"]
    )
    request_id = ask_for_alice(client, planner)["request_id"]

    def mail():
        return [m for m in smtp.messages if request_id in m.get_body(("plain",)).get_content()]

    [message] = wait_for(mail)
    assert REQUESTER in message["Subject"]
    assert REQUESTER in message.get_body(("plain",)).get_content()
    assert REQUESTER in message.get_body(("html",)).get_content()


def test_a_policy_requiring_delegation_refuses_the_agents_own_request(client, org, planner):
    approver = add_approver(client, org, "carol")
    factories.set_policy(
        client,
        org,
        PERMISSION,
        "jit",
        approvers=[approver["approver_id"]],
        delegation="required",
    )
    body = {"permission": PERMISSION, "justification": "refund", "operation": OPERATION}
    resp = client.post(f"{org.api}/jit/requests", json=body, headers=planner.bearer(client))
    assert resp.status_code == 403, resp.text
    assert "on a user's behalf" in resp.json()["error_description"]
    assert ask_for_alice(client, planner)["on_behalf_of"] == ALICE

"""Self-approval compares people, not strings: one normalised email for owners and approvers."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.db import session_scope
from app.models import Agent
from tests import factories
from tests.helpers import assert_oauth_error
from tests.jit.conftest import PERMISSION, ApproverHandle, Jit

DANA = "dana@a.example"


def _approver(jit: Jit, email: str) -> ApproverHandle:
    resp = jit.client.post(f"{jit.org.api}/approvers", json={"email": email}, headers=jit.org.admin)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return ApproverHandle(body["approver_id"], body["email"], body["api_token"])


@pytest.mark.parametrize(
    ("owner", "approver"),
    [
        ("dana+bot@a.example", DANA),
        (DANA, "dana+approvals@a.example"),
        ("Dana+Bot@A.Example", "DANA@a.example"),
        (" dana@a.example ", DANA),
    ],
)
def test_owner_may_not_approve_under_another_spelling_of_their_email(
    jit, client, org, owner, approver
):
    # given Dana owns an agent under one spelling and approves under another
    dana = _approver(jit, approver)
    jit.policy([dana])
    mine = factories.register_agent(client, org, capabilities=[PERMISSION], owner=owner)
    request_id = jit.pending(mine)["request_id"]
    # when Dana approves her own agent's request
    resp = jit.decide(request_id, dana)
    # then it is refused as self-approval and stays pending
    assert_oauth_error(resp, 403, "self_approval_forbidden")
    assert jit.get(request_id, org.admin)["status"] == "pending"


def test_someone_else_at_the_same_domain_may_still_approve(jit, client, org):
    erin = _approver(jit, "erin@a.example")
    jit.policy([erin])
    mine = factories.register_agent(
        client, org, capabilities=[PERMISSION], owner="dana+bot@a.example"
    )
    request_id = jit.pending(mine)["request_id"]
    assert jit.decide(request_id, erin).json()["status"] == "approved"


BAD_EMAILS = [
    "dana@a.example\n",
    "dana@a.example\r\nBcc: x@evil.example",
    "dana@a.example\x00",
    "dana\u200b@a.example",  # zero-width space: looks like Dana, is not Dana
    "dana@a.\u202eelpmaxe",
    "da na@a.example",
]


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_email_with_control_or_invisible_characters_is_refused_for_an_owner(client, org, email):
    jwk = factories.ed25519_jwk(Ed25519PrivateKey.generate(), "k1")
    body = {"name": "owned", "capabilities": [PERMISSION], "owner": email, "jwks": {"keys": [jwk]}}
    resp = client.post(f"{org.api}/agents/register", json=body, headers=org.admin)
    assert_oauth_error(resp, 422, "invalid_request", mentions="owner")


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_email_with_control_or_invisible_characters_is_refused_when_patching_an_owner(
    client, org, agent, email
):
    url = f"{org.api}/agents/{agent.agent_id}"
    resp = client.patch(url, json={"owner": email}, headers=org.admin)
    assert_oauth_error(resp, 422, "invalid_request", mentions="owner")


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_email_with_control_or_invisible_characters_is_refused_for_an_approver(client, org, email):
    resp = client.post(f"{org.api}/approvers", json={"email": email}, headers=org.admin)
    assert_oauth_error(resp, 422, "invalid_request", mentions="email")


def test_owner_stored_before_normalisation_still_counts_as_the_owner(jit, client, org):
    # given an agent row written by an older version, its owner with a trailing newline and a tag
    dana = _approver(jit, DANA)
    jit.policy([dana])
    mine = factories.register_agent(client, org, capabilities=[PERMISSION])
    with session_scope() as session:
        session.get(Agent, mine.agent_id).owner = "Dana+old@a.example\n"
    request_id = jit.pending(mine)["request_id"]
    # when Dana approves, then the comparison at decision time still sees her
    assert_oauth_error(jit.decide(request_id, dana), 403, "self_approval_forbidden")

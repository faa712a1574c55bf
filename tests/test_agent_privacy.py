"""An agent learns nothing about other agents unless it is trusted to: checks on other subjects
need `authz.check_others`, refusals look the same whether the other agent exists or not, and
Ask names no catalog permission the agent does not hold beyond the one its question mapped to."""

import pytest

from tests.factories import make_org, register_agent, set_policy
from tests.jit.conftest import PERMISSION, Jit

CHECK_OTHERS = "authz.check_others"


def check(client, org, headers, **body):
    return client.post(f"{org.api}/authz/check", json=body, headers=headers)


@pytest.fixture
def others(client, org):
    """Every kind of subject an agent might probe: real, suspended, unknown, another org's."""
    peer = register_agent(client, org, capabilities=["email.send"])
    sleeper = register_agent(client, org, capabilities=["email.send"])
    resp = client.patch(
        f"{org.api}/agents/{sleeper.agent_id}", json={"status": "suspended"}, headers=org.admin
    )
    assert resp.status_code == 200, resp.text
    stranger = register_agent(client, make_org("Org B"), capabilities=["email.send"])
    return {
        "peer-by-name": f"agent:{peer.name}",
        "peer-by-id": peer.agent_id,
        "suspended-by-id": sleeper.agent_id,
        "unknown-name": "agent:nobody-here",
        "unknown-id": "agt_000000000000000000000000",
        "other-org": stranger.agent_id,
    }


def test_checking_another_subject_without_the_capability_is_403_and_reveals_nothing(
    client, org, agent, others
):
    # given an agent that does not hold authz.check_others
    headers = agent.bearer(client)
    # when it checks each kind of other subject
    answers = {
        kind: check(client, org, headers, permission="email.send", subject=subject)
        for kind, subject in others.items()
    }
    # then every answer is the same 403: whether the other agent exists is not revealed
    assert {kind: r.status_code for kind, r in answers.items()} == dict.fromkeys(others, 403)
    bodies = {r.text for r in answers.values()}
    assert len(bodies) == 1, bodies
    body = answers["peer-by-id"].json()
    assert body["error"] == "forbidden" and CHECK_OTHERS in body["error_description"]


def test_checking_another_subject_in_bulk_without_the_capability_is_403(client, org, agent, others):
    checks = [{"permission": "email.send", "subject": others["peer-by-id"]}]
    resp = client.post(
        f"{org.api}/authz/check-bulk", json={"checks": checks}, headers=agent.bearer(client)
    )
    assert resp.status_code == 403 and resp.json()["error"] == "forbidden"


def test_checking_yourself_needs_no_capability(client, org, agent):
    for subject in (None, agent.agent_id, f"agent:{agent.name}"):
        resp = check(client, org, agent.bearer(client), permission="document.read", subject=subject)
        assert resp.status_code == 200 and resp.json()["allowed"] is True


def test_a_trusted_checker_gets_answers_and_a_suspended_subject_is_not_allowed(client, org, others):
    # given an agent registered with authz.check_others
    checker = register_agent(client, org, capabilities=[CHECK_OTHERS])
    headers = checker.bearer(client)
    # then it gets real answers about other agents, and 404 for unknown ones
    peer = check(client, org, headers, permission="email.send", subject=others["peer-by-id"])
    assert peer.status_code == 200 and peer.json()["allowed"] is True
    sleeper = check(
        client, org, headers, permission="email.send", subject=others["suspended-by-id"]
    )
    assert sleeper.status_code == 200 and sleeper.json()["allowed"] is False
    for kind in ("unknown-name", "unknown-id", "other-org"):
        resp = check(client, org, headers, permission="email.send", subject=others[kind])
        assert resp.status_code == 404, (kind, resp.text)


def test_the_capability_must_be_in_the_token_scope(client, org, others):
    checker = register_agent(client, org, capabilities=[CHECK_OTHERS, "document.read"])
    headers = checker.bearer(client, scope="document.read")
    resp = check(client, org, headers, permission="email.send", subject=others["peer-by-id"])
    assert resp.status_code == 403


def test_cancelling_another_agents_request_is_404_like_an_unknown_id(client, org, agent):
    # given a pending request of another agent
    jit = Jit(client, org)
    jit.policy([jit.approver("alice")])
    owner = register_agent(client, org, capabilities=[PERMISSION])
    request_id = jit.pending(owner)["request_id"]
    headers = agent.bearer(client)
    # when this agent cancels it, and an id that does not exist
    theirs = client.post(f"{org.api}/jit/requests/{request_id}/cancel", headers=headers)
    unknown = client.post(f"{org.api}/jit/requests/jit_000000000000/cancel", headers=headers)
    # then both answers are 404 and the request is untouched
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"] == unknown.json()["error"] == "not_found"
    assert jit.get(request_id, org.admin)["status"] == "pending"


def test_reading_another_agents_request_is_404(client, org, agent):
    jit = Jit(client, org)
    jit.policy([jit.approver("alice")])
    owner = register_agent(client, org, capabilities=[PERMISSION])
    request_id = jit.pending(owner)["request_id"]
    resp = client.get(f"{org.api}/jit/requests/{request_id}", headers=agent.bearer(client))
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"


def ask(client, org, agent, question):
    resp = client.post(
        f"{org.api}/agents/ask", json={"question": question}, headers=agent.bearer(client)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_ask_about_a_permission_not_held_names_it_but_reveals_no_policy(client, org):
    # given a jit policy on a permission this agent does not hold
    policy = set_policy(client, org, PERMISSION, "jit", groups=["finance"])
    register_agent(client, org, capabilities=[PERMISSION])
    reader = register_agent(client, org, capabilities=["document.read"])
    # when it asks about it
    body = ask(client, org, reader, "Can I authorize a payment?")
    # then it is not allowed, and nothing says how the permission is governed
    assert body["allowed"] is False
    assert body["permissions"] == [
        {
            "permission": PERMISSION,
            "allowed": False,
            "reason": "not among the agent's registered capabilities",
            "jit_required": False,
            "phrase": body["permissions"][0]["phrase"],
            "policy_id": None,
            "confidence": 1.0,
        }
    ]
    assert policy["policy_id"] not in str(body) and "just-in-time" not in str(body)


def test_ask_does_not_list_catalog_permissions_the_agent_does_not_hold(client, org):
    # given another agent's capability that reads something too
    register_agent(client, org, capabilities=["secrets.read"])
    reader = register_agent(client, org, capabilities=["document.read"])
    # when the agent asks something ambiguous
    body = ask(client, org, reader, "Can I read?")
    # then the refusal does not name the permission it does not hold
    assert body["allowed"] is False and body["unresolved"]
    assert "secrets.read" not in str(body), body
    assert "document.read" in body["reason"]

"""What an approver reaches on the API: only requests whose policy names them (issue 18, finding 6).

An approver sees and acts on a request when the request's policy names them, directly or
through a group; they also keep seeing a request they decided on. Anything else is answered as
if it did not exist (404), so an approver cannot learn what other teams' agents ask for.
"""

from tests.helpers import assert_oauth_error


def _url(jit, request_id: str, verb: str = "") -> str:
    return f"{jit.org.api}/jit/requests/{request_id}" + (f"/{verb}" if verb else "")


def _set_approvers(jit, client, policy: dict, approvers) -> None:
    body = {"permission": policy["permission"], "mode": "jit"}
    body["approvers"] = [a.approver_id for a in approvers]
    url = f"{jit.org.api}/policies/{policy['policy_id']}"
    resp = client.put(url, json=body, headers=jit.org.admin)
    assert resp.status_code == 200, resp.text


def test_approver_named_on_no_policy_cannot_read_a_request(jit, client, agent, alice):
    jit.policy([alice])
    outsider = jit.approver("mallory")
    request_id = jit.pending(agent)["request_id"]

    resp = client.get(_url(jit, request_id), headers=outsider.headers)

    assert_oauth_error(resp, 404, "not_found")
    assert client.get(_url(jit, request_id), headers=alice.headers).status_code == 200


def test_approver_named_on_no_policy_cannot_follow_a_request_s_events(jit, client, agent, alice):
    jit.policy([alice])
    outsider = jit.approver("mallory")
    request_id = jit.pending(agent)["request_id"]

    resp = client.get(_url(jit, request_id, "events"), headers=outsider.headers)

    assert_oauth_error(resp, 404, "not_found")


def test_approver_named_on_no_policy_cannot_revoke_an_approved_token(jit, client, agent, alice):
    jit.policy([alice])
    outsider = jit.approver("mallory")
    request_id, token = jit.approved_token(agent, alice)

    resp = client.post(_url(jit, request_id, "revoke"), headers=outsider.headers)

    assert_oauth_error(resp, 404, "not_found")
    assert jit.get(request_id, jit.org.admin)["status"] == "approved"
    assert jit.consume(token).status_code == 200


def test_approver_named_by_the_policy_may_revoke(jit, client, agent, alice):
    jit.policy([alice])
    request_id, _token = jit.approved_token(agent, alice)

    resp = client.post(_url(jit, request_id, "revoke"), headers=alice.headers)

    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "revoked"


def test_approver_named_through_a_group_reads_and_decides(jit, client, agent):
    oncall = jit.approver("olga", groups=["payments-oncall"])
    jit.policy([], groups=["payments-oncall"])
    request_id = jit.pending(agent)["request_id"]

    assert client.get(_url(jit, request_id), headers=oncall.headers).status_code == 200
    assert jit.decide(request_id, oncall).json()["status"] == "approved"


def test_approver_removed_from_the_policy_still_sees_what_they_decided_but_cannot_revoke(
    jit, client, agent, alice, bob
):
    policy = jit.policy([alice, bob])
    request_id, _token = jit.approved_token(agent, alice)
    _set_approvers(jit, client, policy, [bob])

    assert client.get(_url(jit, request_id), headers=alice.headers).status_code == 200
    resp = client.post(_url(jit, request_id, "revoke"), headers=alice.headers)
    assert_oauth_error(resp, 403, "not_an_approver")

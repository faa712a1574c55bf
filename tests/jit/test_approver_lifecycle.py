"""The approver lifecycle on the admin API: read, change, disable, delete, rotate the token
(issue 10 item 6, issue 18 finding 7). A departed approver's jgapr_ token must stop working."""

import pytest

from tests import factories
from tests.helpers import assert_oauth_error, audit_events
from tests.jit.conftest import PERMISSION


def _url(jit, approver, suffix: str = "") -> str:
    return f"{jit.org.api}/approvers/{approver.approver_id}{suffix}"


def _patch(jit, client, approver, **changes):
    return client.patch(_url(jit, approver), json=changes, headers=jit.org.admin)


def test_admin_reads_one_approver(jit, client, alice):
    resp = client.get(_url(jit, alice), headers=jit.org.admin)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["approver_id"] == alice.approver_id and body["status"] == "active"
    assert "api_token" not in body and "token_hash" not in body


def test_admin_changes_name_groups_and_slack_user(jit, client, alice):
    resp = _patch(jit, client, alice, name="Alice B.", groups=["finance"], slack_user_id="U0AB")

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["name"], body["groups"], body["slack_user_id"]) == (
        "Alice B.",
        ["finance"],
        "U0AB",
    )
    assert audit_events(client, jit.org, action="approver.update")


def test_a_disabled_approver_s_token_is_refused(jit, client, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]

    assert _patch(jit, client, alice, status="disabled").status_code == 200

    assert_oauth_error(jit.decide(request_id, alice), 401, "invalid_token")
    resp = client.get(f"{jit.org.api}/jit/requests/{request_id}", headers=alice.headers)
    assert_oauth_error(resp, 401, "invalid_token")
    assert jit.get(request_id, jit.org.admin)["status"] == "pending"


def test_a_re_enabled_approver_decides_again(jit, client, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    _patch(jit, client, alice, status="disabled")

    assert _patch(jit, client, alice, status="active").status_code == 200

    assert jit.decide(request_id, alice).json()["status"] == "approved"


def test_a_policy_naming_a_disabled_approver_keeps_working_with_the_others(
    jit, client, agent, alice, bob
):
    jit.policy([alice, bob])
    _patch(jit, client, alice, status="disabled")

    request_id = jit.pending(agent)["request_id"]

    assert jit.decide(request_id, bob).json()["status"] == "approved"


def test_disabling_an_approver_a_policy_cannot_do_without_is_reported(
    jit, client, agent, alice, bob
):
    policy = jit.policy([alice, bob], approvals_required=2)

    resp = _patch(jit, client, alice, status="disabled")

    assert resp.status_code == 200, resp.text
    [warning] = resp.json()["warnings"]
    assert policy["policy_id"] in warning and "approvals_required" in warning


def test_a_change_that_leaves_every_policy_whole_has_no_warnings(jit, client, alice, bob):
    jit.policy([alice, bob])

    resp = _patch(jit, client, alice, status="disabled")

    assert resp.json()["warnings"] == []


def test_rotating_the_token_shows_a_new_one_once_and_ends_the_old_one(jit, client, agent, alice):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]

    resp = client.post(_url(jit, alice, "/rotate-token"), headers=jit.org.admin)

    assert resp.status_code == 200, resp.text
    new_token = resp.json()["api_token"]
    assert new_token.startswith("jgapr_") and new_token != alice.api_token
    assert_oauth_error(jit.decide(request_id, alice), 401, "invalid_token")
    alice.api_token = new_token
    assert jit.decide(request_id, alice).json()["status"] == "approved"
    assert "api_token" not in client.get(_url(jit, alice), headers=jit.org.admin).json()


def test_a_deleted_approver_is_refused_but_kept_for_the_audit_trail(jit, client, agent, alice, bob):
    jit.policy([alice, bob])
    decided = jit.pending(agent)["request_id"]
    jit.decide(decided, alice, "deny")

    resp = client.delete(_url(jit, alice), headers=jit.org.admin)

    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "deleted"
    assert_oauth_error(jit.decide(jit.pending(agent)["request_id"], alice), 401, "invalid_token")
    listed = client.get(f"{jit.org.api}/approvers", headers=jit.org.admin).json()["items"]
    assert alice.approver_id not in {a["approver_id"] for a in listed}
    kept = client.get(_url(jit, alice), headers=jit.org.admin).json()
    assert kept["status"] == "deleted" and kept["email"] == alice.email
    [decision] = jit.get(decided, jit.org.admin)["decisions"]
    assert decision["approver"] == "Alice"
    assert audit_events(client, jit.org, actor=alice.approver_id)


def test_a_deleted_approver_cannot_be_changed_again(jit, client, alice):
    client.delete(_url(jit, alice), headers=jit.org.admin)

    assert_oauth_error(_patch(jit, client, alice, status="active"), 409, "conflict")
    resp = client.post(_url(jit, alice, "/rotate-token"), headers=jit.org.admin)
    assert_oauth_error(resp, 409, "conflict")


def test_adding_the_address_of_a_deleted_approver_says_why_it_is_refused(jit, client, alice):
    client.delete(_url(jit, alice), headers=jit.org.admin)

    resp = client.post(
        f"{jit.org.api}/approvers", json={"email": alice.email}, headers=jit.org.admin
    )

    assert_oauth_error(resp, 409, "conflict", mentions="was deleted")


def test_a_policy_cannot_name_a_deleted_approver(jit, client, alice, bob):
    client.delete(_url(jit, alice), headers=jit.org.admin)

    resp = client.post(
        f"{jit.org.api}/policies",
        json={"permission": "payments.refund", "mode": "jit", "approvers": [alice.approver_id]},
        headers=jit.org.admin,
    )

    assert_oauth_error(resp, 422, "invalid_request", mentions=alice.approver_id)


@pytest.mark.parametrize(
    "changes",
    [{"status": "deleted"}, {"status": "gone"}, {"groups": ["Not A Group"]}, {"email": "x@y.z"}],
)
def test_bad_changes_are_refused_with_a_clear_error(jit, client, alice, changes):
    resp = _patch(jit, client, alice, **changes)

    assert resp.status_code in (400, 422), resp.text
    assert set(resp.json()) >= {"error", "error_description"}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-token")],
)
def test_approver_routes_are_for_the_org_s_admins_only(
    jit, client, alice, other_org, method, suffix
):
    url = _url(jit, alice, suffix)
    body = {"name": "x"} if method == "PATCH" else None

    as_approver = client.request(method, url, json=body, headers=alice.headers)
    as_other_admin = client.request(method, url, json=body, headers=other_org.admin)
    unknown = client.request(
        method, f"{jit.org.api}/approvers/apr_nope{suffix}", json=body, headers=jit.org.admin
    )

    assert as_approver.status_code == 401
    assert as_other_admin.status_code == 404
    assert_oauth_error(unknown, 404, "not_found")
    assert client.get(_url(jit, alice), headers=jit.org.admin).json()["status"] == "active"


@pytest.mark.parametrize("how", ["disabled", "deleted", "taken_off_the_policy"])
def test_a_vote_whose_approver_is_gone_no_longer_counts_toward_the_quorum(
    client, org, jit, alice, bob, how
):
    # Given a two-person rule and Alice's approval
    agent = factories.register_agent(client, org, capabilities=[PERMISSION])
    policy = jit.policy([alice, bob], approvals_required=2)
    request_id = jit.pending(agent)["request_id"]
    assert jit.decide(request_id, alice).status_code == 200
    # When Alice stops being an approver of it
    url = f"{org.api}/approvers/{alice.approver_id}"
    if how == "disabled":
        client.patch(url, json={"status": "disabled"}, headers=org.admin)
    elif how == "deleted":
        client.delete(url, headers=org.admin)
    else:
        body = {
            "permission": PERMISSION,
            "mode": "jit",
            "approvers": [bob.approver_id],
            "approvals_required": 2,
        }
        put = client.put(f"{org.api}/policies/{policy['policy_id']}", json=body, headers=org.admin)
        assert put.status_code == 200, put.text
    # Then Bob alone does not complete the two-person rule
    answer = jit.decide(request_id, bob)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "pending"

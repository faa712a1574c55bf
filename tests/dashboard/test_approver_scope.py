"""What an approver reaches on the dashboard: the same requests as on the API (issue 18, finding 6).

A request page, the history and the audit trail show only requests whose policy names the
signed-in approver (or that they decided), and the audit trail only events about those
requests or by the approver themselves.
"""

from tests import factories
from tests.dashboard.conftest import add_approver, ask, login

OTHER_PERMISSION = "hr.salary.read"


def other_teams_request(client, team) -> str:
    """A request under a policy that names only a different approver."""
    carol = add_approver(client, team.org, "carol")
    agent = factories.register_agent(client, team.org, capabilities=[OTHER_PERMISSION])
    factories.set_policy(
        client, team.org, OTHER_PERMISSION, "jit", approvers=[carol["approver_id"]]
    )
    body = {"permission": OTHER_PERMISSION, "justification": "payroll check", "expires_in": "10m"}
    resp = client.post(f"{team.org.api}/jit/requests", json=body, headers=agent.bearer(client))
    assert resp.status_code == 202, resp.text
    request_id = resp.json()["request_id"]
    deny = client.post(
        f"{team.org.api}/jit/requests/{request_id}/deny",
        json={"reason": "not today"},
        headers={"Authorization": f"Bearer {carol['api_token']}"},
    )
    assert deny.status_code == 200, deny.text
    return request_id


def test_request_page_of_another_policy_is_not_found(client, signed_in, team):
    theirs = other_teams_request(client, team)

    page = signed_in.get(f"/dashboard/requests/{theirs}")

    assert page.status_code == 404
    assert OTHER_PERMISSION not in page.text and "payroll" not in page.text


def test_history_lists_only_requests_of_the_approver_s_policies(client, signed_in, team):
    theirs = other_teams_request(client, team)
    ours = ask(client, team)["request_id"]
    client.post(
        f"{team.org.api}/jit/requests/{ours}/deny",
        json={"reason": "no"},
        headers={"Authorization": f"Bearer {team.token}"},
    )

    page = signed_in.get("/dashboard/history").text

    assert ours in page
    assert theirs not in page and OTHER_PERMISSION not in page


def test_audit_trail_shows_only_events_about_the_approver_s_requests(client, signed_in, team):
    theirs = other_teams_request(client, team)
    ours = ask(client, team)["request_id"]

    page = signed_in.get("/dashboard/audit?limit=200").text

    assert ours in page
    assert theirs not in page
    assert "approver.create" not in page and "policy.create" not in page  # admin's business


def test_an_approver_on_no_policy_sees_no_history_and_only_their_own_audit_events(
    client, browser, team
):
    ours = ask(client, team)["request_id"]
    client.post(
        f"{team.org.api}/jit/requests/{ours}/approve",
        json={},
        headers={"Authorization": f"Bearer {team.token}"},
    )
    outsider = add_approver(client, team.org, "mallory")
    assert login(browser, outsider["api_token"]).status_code == 303

    assert ours not in browser.get("/dashboard/history").text
    assert browser.get(f"/dashboard/requests/{ours}").status_code == 404
    audit = browser.get("/dashboard/audit?limit=200").text
    assert ours not in audit and "dashboard.login" in audit

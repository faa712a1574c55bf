"""The dashboard shows a request made with a delegated token as "planner-bot for alice@…"."""

from tests import factories
from tests.dashboard.conftest import OPERATION, PERMISSION
from tests.federation.users import ALICE, acting_for_alice


def test_pending_list_and_request_page_name_the_user(client, signed_in, team):
    planner = factories.register_agent(
        client, team.org, capabilities=[PERMISSION, "delegation.act"], name="planner-bot"
    )
    headers = {"Authorization": f"Bearer {acting_for_alice(client, planner)}"}
    body = {"permission": PERMISSION, "justification": "Alice's refund", "operation": OPERATION}
    resp = client.post(f"{team.org.api}/jit/requests", json=body, headers=headers)
    assert resp.status_code == 202, resp.text
    request_id = resp.json()["request_id"]

    listed = signed_in.get("/dashboard/pending").text
    assert request_id in listed and f"planner-bot for {ALICE}" in listed
    page = signed_in.get(f"/dashboard/requests/{request_id}")
    assert page.status_code == 200 and f"planner-bot for {ALICE}" in page.text

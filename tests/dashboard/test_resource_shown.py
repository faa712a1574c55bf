"""The dashboard shows which server a JIT token will be good for (RFC 8707 resource)."""

from tests.dashboard.conftest import ask

RESOURCE = "https://payments.example/api"


def test_the_dashboard_request_page_names_the_resource(client, team, signed_in):
    request_id = ask(client, team, resource=RESOURCE)["request_id"]

    page = signed_in.get(f"/dashboard/requests/{request_id}")

    assert page.status_code == 200 and "Token only for" in page.text and RESOURCE in page.text

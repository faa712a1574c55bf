"""Malformed portal input is a field error or ignored, never a 500 (review 13, L2)."""

import pytest

from tests import factories
from tests.admin.conftest import post

DEEP_JSON = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("typed", ["²", "9" * 5000, str(10**30), "-1", "１２"])
def test_a_budget_that_is_not_a_plain_number_is_a_field_error(admin, client, org, typed):
    a = factories.register_agent(client, org, capabilities=["document.read"])
    resp = post(
        admin,
        f"/admin/agents/{a.agent_id}/settings",
        {"capabilities": "document.read", "requests_per_minute": typed},
    )
    assert resp.status_code == 422, resp.status_code
    assert 'class="field-error"' in resp.text
    # Nothing stored: the agent keeps its budget
    page = admin.get(f"/admin/agents/{a.agent_id}").text
    assert typed not in page or typed == "-1"


@pytest.mark.parametrize("field", ["approvals_required", "max_token_ttl", "pending_timeout"])
@pytest.mark.parametrize("typed", ["¹", "9" * 5000])
def test_a_policy_number_that_is_not_a_plain_number_is_a_field_error(admin, field, typed):
    values = {
        "permission": "x.y",
        "mode": "deny",
        "approvals_required": "1",
        "max_token_ttl": "10m",
        "pending_timeout": "15m",
    }
    resp = post(admin, "/admin/policies", {**values, field: typed})
    assert resp.status_code == 422, resp.status_code
    assert 'class="field-error"' in resp.text


@pytest.mark.parametrize("before", ["²", "9" * 5000, "x"])
def test_a_bad_audit_page_cursor_shows_the_first_page(admin, before):
    resp = admin.get("/admin/audit", params={"before": before})
    assert resp.status_code == 200
    assert "<table" in resp.text


def test_deeply_nested_json_is_a_field_error(admin):
    resp = post(
        admin,
        "/admin/agents",
        {"name": "deep-bot", "capabilities": "a.b", "jwks_source": "paste", "jwks": DEEP_JSON},
    )
    assert resp.status_code == 422 and "nested too deeply" in resp.text
    resp = post(
        admin,
        "/admin/federation",
        {"agent": "x", "issuer_id": "i", "subject": "s", "claims": DEEP_JSON},
    )
    assert resp.status_code == 422 and "nested too deeply" in resp.text

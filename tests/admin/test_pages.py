"""Admin pages through the API's own services: forms succeed, or show the API's error text
next to the field at fault and keep what the admin typed."""

import json
import re
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests import factories
from tests.admin.conftest import post


def _jwks(kid: str = "k1") -> str:
    return json.dumps({"keys": [factories.ed25519_jwk(Ed25519PrivateKey.generate(), kid)]})


def _field_error(html: str, name: str) -> str:
    match = re.search(rf'id="e-{name}"[^>]*>([^<]*)<', html)
    assert match, f"no error shown next to {name}"
    return match.group(1)


def test_every_page_renders_for_a_signed_in_admin(admin):
    for path in ("overview", "agents", "approvers", "policies", "catalog", "tokens", "audit"):
        page = admin.get(f"/admin/{path}")
        assert page.status_code == 200, (path, page.text[:300])


def test_registering_an_agent_with_a_pasted_jwks_creates_it(admin, client, org):
    name = f"bot-{uuid.uuid4().hex[:8]}"
    data = {"name": name, "capabilities": "document.read, email.send", "jwks": _jwks()}
    resp = post(admin, "/admin/agents", {**data, "jwks_source": "paste"})
    assert resp.status_code == 303
    page = admin.get(resp.headers["location"])
    assert name in page.text and "email.send" in page.text
    listed = client.get(f"{org.api}/agents", headers=org.admin).json()["items"]
    assert any(a["name"] == name for a in listed)


def test_a_private_key_in_the_jwks_is_refused_next_to_the_field(admin):
    # Given a JWKS that carries private material (the API refuses it the same way)
    private = Ed25519PrivateKey.generate()
    jwk = factories.ed25519_jwk(private, "k1") | {"d": "c2VjcmV0"}
    typed = json.dumps({"keys": [jwk]})
    # When the admin registers with it
    resp = post(
        admin,
        "/admin/agents",
        {"name": "leaky-bot", "capabilities": "a.b", "jwks_source": "paste", "jwks": typed},
    )
    # Then the API's error text sits next to the JWKS field, and what was typed is kept
    assert resp.status_code == 422
    assert "private" in _field_error(resp.text, "jwks")
    assert 'value="leaky-bot"' in resp.text
    assert "c2VjcmV0" in resp.text


def test_jwks_that_is_not_json_is_named_next_to_the_field(admin):
    data = {"name": "bot-x", "capabilities": "a.b", "jwks_source": "paste", "jwks": "{nope"}
    resp = post(admin, "/admin/agents", data)
    assert resp.status_code == 422
    assert "not valid JSON" in _field_error(resp.text, "jwks")


def test_a_bad_agent_name_is_shown_next_to_the_name(admin):
    data = {"name": "Bad Name", "capabilities": "a.b", "jwks_source": "paste", "jwks": _jwks()}
    resp = post(admin, "/admin/agents", data)
    assert resp.status_code == 422
    assert "name must match" in _field_error(resp.text, "name")


def test_an_added_approver_token_is_shown_once(admin):
    email = f"dana-{uuid.uuid4().hex[:6]}@example.com"
    resp = post(admin, "/admin/approvers", {"email": email, "name": "Dana"})
    assert resp.status_code == 201
    token = re.search(r"jgapr_[A-Za-z0-9_-]+", resp.text).group(0)
    assert token not in admin.get("/admin/approvers").text


def test_a_created_admin_token_is_shown_once_under_a_cleared_form(admin):
    # When an admin creates a token with a label
    resp = post(admin, "/admin/tokens", {"label": "ci-runner-7"})
    # Then the page shows the token once, lists it, and the form is empty for the next one
    assert resp.status_code == 201
    assert re.search(r"jgadm_[A-Za-z0-9_-]+", resp.text)
    assert "<td>ci-runner-7</td>" in resp.text
    assert 'id="f-label" name="label" type="text" value=""' in resp.text


def test_a_jit_policy_is_created_through_the_form(admin, client, org):
    email = f"eve-{uuid.uuid4().hex[:6]}@example.com"
    approver = client.post(f"{org.api}/approvers", json={"email": email}, headers=org.admin)
    approver_id = approver.json()["approver_id"]
    data = {"permission": "payments.refund", "mode": "jit", "approvers": approver_id}
    resp = post(admin, "/admin/policies", {**data, "max_token_ttl": "5m", "pending_timeout": ""})
    assert resp.status_code == 303
    policies = client.get(f"{org.api}/policies", headers=org.admin).json()["items"]
    assert [(p["mode"], p["approvers"], p["max_token_ttl"]) for p in policies] == [
        ("jit", [approver_id], 300)
    ]


def test_a_policy_ttl_over_the_cap_is_shown_next_to_the_field(admin):
    data = {"permission": "payments.refund", "mode": "standing", "max_token_ttl": "2h"}
    resp = post(admin, "/admin/policies", data)
    assert resp.status_code == 422
    assert "max_token_ttl" in _field_error(resp.text, "max_token_ttl")
    assert 'value="payments.refund"' in resp.text


def test_audit_filters_export_and_verify(admin):
    page = admin.get("/admin/audit?verify=1&action=org.create")
    assert "The chain is intact" in page.text and "org.create" in page.text
    exported = admin.get("/admin/audit/export.json?action=org.create")
    assert [e["action"] for e in exported.json()["events"]] == ["org.create"]
    csv_text = admin.get("/admin/audit/export.csv").text
    assert csv_text.startswith("seq,ts,actor,action")


def test_an_export_larger_than_one_file_is_followed_page_by_page(admin, client, org, monkeypatch):
    from app.admin import routes

    # given more events than one export holds
    monkeypatch.setattr(routes, "EXPORT_LIMIT", 2)
    for n in range(5):
        factories.register_agent(
            client, org, capabilities=["document.read"], name=f"export-{n}-{uuid.uuid4().hex[:6]}"
        )
    everything = [
        e["seq"]
        for e in admin.get("/admin/audit/export.json?action=agent.register").json()["events"]
    ]
    assert len(everything) == 2
    # when the admin follows each export's next link (the JSON and the CSV say the same)
    seen: list[int] = []
    url = "/admin/audit/export.json?action=agent.register"
    while url:
        page = admin.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [e["seq"] for e in body["events"]]
        link = page.links.get("next", {}).get("url")
        assert (link is None) == (body["next_before"] is None)
        assert link is None or f"before={body['next_before']}" in link
        url = link and link.replace("http://testserver", "")
    # then every event is exported once, newest first, and nothing else
    assert len(seen) == len(set(seen)) >= 5
    assert seen == sorted(seen, reverse=True)
    csv_page = admin.get(f"/admin/audit/export.csv?action=agent.register&before={seen[1]}")
    assert [int(line.split(",")[0]) for line in csv_page.text.splitlines()[1:]] == seen[2:4]
    assert "before=" in csv_page.links["next"]["url"]


def test_an_export_next_link_keeps_the_since_filter_it_was_given(admin, monkeypatch):
    from app.admin import routes

    monkeypatch.setattr(routes, "EXPORT_LIMIT", 1)
    # given a since with an offset and seconds (+05:00 is five hours ahead of UTC)
    page = admin.get("/admin/audit/export.json?since=2000-01-01T05:00:30%2B05:00")
    # then the next file is asked for with the same instant, in UTC, to the second
    assert "since=2000-01-01T00%3A00%3A30" in page.links["next"]["url"], page.links


def test_an_export_cursor_that_is_not_a_number_is_the_first_page(admin):
    first = admin.get("/admin/audit/export.json").json()["events"]
    assert admin.get("/admin/audit/export.json?before=x'--").json()["events"] == first


def test_suspending_an_agent_from_its_page_refuses_its_tokens(admin, client, org):
    agent = factories.register_agent(client, org, capabilities=["document.read"])
    resp = post(admin, f"/admin/agents/{agent.agent_id}/status", {"status": "suspended"})
    assert resp.status_code == 303
    assert "suspended" in admin.get(f"/admin/agents/{agent.agent_id}").text
    refused = client.post(
        f"{org.token_endpoint}",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": agent.assertion(),
        },
    )
    assert refused.status_code in (400, 401)


def test_a_policys_delegation_is_set_and_kept_when_edited_through_the_form(admin, client, org):
    data = {"permission": "email.send", "mode": "standing", "delegation": "required"}
    assert post(admin, "/admin/policies", data).status_code == 303
    [policy] = client.get(f"{org.api}/policies", headers=org.admin).json()["items"]
    assert policy["delegation"] == "required"
    # the edit form shows it selected, and saving it unchanged keeps it
    page = admin.get(f"/admin/policies?edit={policy['policy_id']}").text
    assert '<option value="required" selected>' in page
    edited = {**data, "policy_id": policy["policy_id"], "max_token_ttl": "5m"}
    assert post(admin, "/admin/policies", edited).status_code == 303
    [policy] = client.get(f"{org.api}/policies", headers=org.admin).json()["items"]
    assert policy["delegation"] == "required" and policy["max_token_ttl"] == 300
    bad = post(admin, "/admin/policies", {**data, "delegation": "sometimes"})
    assert bad.status_code == 422 and "delegation" in bad.text

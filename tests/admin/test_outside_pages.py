"""Trusted issuers, federation rules and protected resources in the portal: added and removed
through the API's services, the API's error text next to the field, what was typed kept, and
nothing of another org reachable."""

import html
import json
import re
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests import factories
from tests.admin.conftest import admin_login, post
from tests.dashboard.conftest import ORIGIN


def _jwks() -> str:
    return json.dumps({"keys": [factories.ed25519_jwk(Ed25519PrivateKey.generate(), "ci-1")]})


def _field_error(page: str, name: str) -> str:
    match = re.search(rf'id="e-{name}"[^>]*>([^<]*)<', page)
    assert match, f"no error shown next to {name}"
    return html.unescape(match.group(1))


def _issuer(**changes) -> dict:
    return {
        "issuer": f"https://ci-{uuid.uuid4().hex[:6]}.example.com",
        "kind": "workload",
        "name": "CI",
        "audiences": "https://jitgate.example.com",
        "subject_claim": "sub",
        "jwks_source": "paste",
        "jwks": _jwks(),
        **changes,
    }


def _api(client, org, path: str) -> list[dict]:
    resp = client.get(f"{org.api}{path}", headers=org.admin)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


# --- trusted issuers --------------------------------------------------------------------------


def test_an_issuer_added_in_the_portal_is_the_apis_and_can_be_removed(admin, client, org):
    data = _issuer()
    assert post(admin, "/admin/issuers", data).status_code == 303
    [listed] = [i for i in _api(client, org, "/trusted-issuers") if i["issuer"] == data["issuer"]]
    assert listed["key_ids"] == ["ci-1"] and listed["kind"] == "workload"
    assert data["issuer"] in admin.get("/admin/issuers").text
    resp = post(admin, f"/admin/issuers/{listed['issuer_id']}/delete", {})
    assert resp.status_code == 303
    assert not any(i["issuer"] == data["issuer"] for i in _api(client, org, "/trusted-issuers"))


def test_an_issuer_without_audiences_is_refused_next_to_the_field(admin):
    data = _issuer(audiences="")
    resp = post(admin, "/admin/issuers", data)
    assert resp.status_code == 422
    assert "audiences" in _field_error(resp.text, "audiences")
    assert f'value="{data["issuer"]}"' in resp.text


def test_a_private_key_for_an_issuer_is_refused_next_to_the_jwks(admin):
    jwk = factories.ed25519_jwk(Ed25519PrivateKey.generate(), "k") | {"d": "c2VjcmV0"}
    resp = post(admin, "/admin/issuers", _issuer(jwks=json.dumps({"keys": [jwk]})))
    assert resp.status_code == 422
    assert "private" in _field_error(resp.text, "jwks")


def test_the_same_issuer_twice_is_refused_next_to_the_issuer(admin):
    data = _issuer()
    assert post(admin, "/admin/issuers", data).status_code == 303
    again = post(admin, "/admin/issuers", {**data, "jwks": _jwks()})
    assert again.status_code == 422
    assert "already a trusted workload issuer" in _field_error(again.text, "issuer")


def test_another_orgs_issuer_cannot_be_removed(browser, client, org, other_org):
    body = {
        "issuer": "https://theirs.example.com",
        "kind": "workload",
        "audiences": ["x"],
        "jwks": json.loads(_jwks()),
    }
    theirs = client.post(f"{other_org.api}/trusted-issuers", json=body, headers=other_org.admin)
    assert theirs.status_code == 201, theirs.text
    assert admin_login(browser, org.admin_token).status_code == 303
    resp = post(browser, f"/admin/issuers/{theirs.json()['issuer_id']}/delete", {})
    assert resp.status_code == 404
    assert len(_api(client, other_org, "/trusted-issuers")) == 1


def test_removing_an_issuer_needs_the_csrf_token(admin, client, org):
    assert post(admin, "/admin/issuers", _issuer()).status_code == 303
    issuer_id = _api(client, org, "/trusted-issuers")[-1]["issuer_id"]
    resp = admin.post(f"/admin/issuers/{issuer_id}/delete", headers={"Origin": ORIGIN})
    assert resp.status_code == 403
    assert any(i["issuer_id"] == issuer_id for i in _api(client, org, "/trusted-issuers"))


# --- federation rules -------------------------------------------------------------------------


def _workload_issuer(admin, client, org) -> str:
    data = _issuer()
    assert post(admin, "/admin/issuers", data).status_code == 303
    return next(
        i["issuer_id"]
        for i in _api(client, org, "/trusted-issuers")
        if i["issuer"] == data["issuer"]
    )


def test_a_rule_added_by_agent_name_is_the_apis_and_can_be_removed(admin, client, org):
    agent = factories.register_agent(client, org, capabilities=["deploy.run"])
    issuer_id = _workload_issuer(admin, client, org)
    data = {
        "agent": agent.name,
        "issuer_id": issuer_id,
        "subject": "repo:acme/app:ref:refs/heads/main",
        "claims": '{"repository_owner": "acme"}',
    }
    assert post(admin, "/admin/federation", data).status_code == 303
    [rule] = _api(client, org, f"/agents/{agent.agent_id}/federation")
    assert rule["claims"] == {"repository_owner": "acme"}
    page = admin.get("/admin/federation").text
    assert agent.name in page and "repo:acme/app:ref:refs/heads/main" in page
    delete = f"/admin/federation/{agent.agent_id}/{rule['rule_id']}/delete"
    assert post(admin, delete, {}).status_code == 303
    assert _api(client, org, f"/agents/{agent.agent_id}/federation") == []


def test_a_rule_for_an_unknown_agent_is_refused_next_to_the_agent(admin, client, org):
    issuer_id = _workload_issuer(admin, client, org)
    data = {"agent": "no-such-bot", "issuer_id": issuer_id, "subject": "s", "claims": ""}
    resp = post(admin, "/admin/federation", data)
    assert resp.status_code == 422
    assert "no agent" in _field_error(resp.text, "agent")
    assert 'value="no-such-bot"' in resp.text


def test_claims_that_are_not_json_are_refused_next_to_the_claims(admin, client, org):
    agent = factories.register_agent(client, org, capabilities=["deploy.run"])
    issuer_id = _workload_issuer(admin, client, org)
    data = {"agent": agent.agent_id, "issuer_id": issuer_id, "subject": "s", "claims": "{nope"}
    resp = post(admin, "/admin/federation", data)
    assert resp.status_code == 422
    assert "not valid JSON" in _field_error(resp.text, "claims")
    assert "{nope" in resp.text


def test_a_user_issuer_cannot_carry_federation_rules(admin, client, org):
    agent = factories.register_agent(client, org, capabilities=["deploy.run"])
    data = _issuer(kind="user")
    assert post(admin, "/admin/issuers", data).status_code == 303
    issuer_id = next(
        i["issuer_id"]
        for i in _api(client, org, "/trusted-issuers")
        if i["issuer"] == data["issuer"]
    )
    rule = {"agent": agent.agent_id, "issuer_id": issuer_id, "subject": "s", "claims": ""}
    resp = post(admin, "/admin/federation", rule)
    assert resp.status_code == 422
    assert "workload issuer" in _field_error(resp.text, "issuer_id")


def test_another_orgs_agent_gets_no_rule(admin, client, org, other_org):
    theirs = factories.register_agent(client, other_org, capabilities=["deploy.run"])
    issuer_id = _workload_issuer(admin, client, org)
    data = {"agent": theirs.agent_id, "issuer_id": issuer_id, "subject": "s", "claims": ""}
    resp = post(admin, "/admin/federation", data)
    assert resp.status_code == 422 and "no agent" in _field_error(resp.text, "agent")


# --- resources --------------------------------------------------------------------------------


def test_a_resource_added_in_the_portal_is_the_apis_and_can_be_removed(admin, client, org):
    uri = f"https://mcp-{uuid.uuid4().hex[:6]}.example.com/payments"
    data = {
        "name": "Payments MCP",
        "resource_uri": uri,
        "kind": "mcp",
        "tools": "refund = payments.refund\nlookup: payments.read\n",
        "default_permission": "",
    }
    assert post(admin, "/admin/resources", data).status_code == 303
    [row] = [r for r in _api(client, org, "/resources") if r["resource_uri"] == uri]
    assert row["tools"] == {"refund": "payments.refund", "lookup": "payments.read"}
    assert uri in admin.get("/admin/resources").text
    assert post(admin, f"/admin/resources/{row['resource_id']}/delete", {}).status_code == 303
    assert not any(r["resource_uri"] == uri for r in _api(client, org, "/resources"))


def test_a_plain_http_resource_is_refused_next_to_the_uri(admin):
    data = {"name": "X", "resource_uri": "http://mcp.example.com/", "kind": "mcp", "tools": ""}
    resp = post(admin, "/admin/resources", data)
    assert resp.status_code == 422
    assert "https" in _field_error(resp.text, "resource_uri")
    assert 'value="http://mcp.example.com/"' in resp.text


def test_a_bad_tool_line_is_refused_next_to_the_tools(admin):
    for tools, expected in (
        ("refund payments.refund", "line 1"),
        ("bad tool! = payments.refund", "tool name"),
        ("refund = Not A Permission", "tools.refund"),
    ):
        data = {
            "name": "X",
            "resource_uri": "https://x.example.com/",
            "kind": "mcp",
            "tools": tools,
        }
        resp = post(admin, "/admin/resources", data)
        assert resp.status_code == 422
        assert expected in _field_error(resp.text, "tools"), tools
        assert html.escape(tools) in resp.text or tools in resp.text


def test_the_same_resource_twice_is_refused_next_to_the_uri(admin):
    data = {
        "name": "X",
        "resource_uri": f"https://{uuid.uuid4().hex[:6]}.example.com/",
        "tools": "",
    }
    assert post(admin, "/admin/resources", {**data, "kind": "api"}).status_code == 303
    again = post(admin, "/admin/resources", {**data, "kind": "api"})
    assert again.status_code == 422
    assert "registered already" in _field_error(again.text, "resource_uri")


def test_another_orgs_resource_cannot_be_removed(browser, client, org, other_org):
    body = {"name": "Theirs", "resource_uri": "https://theirs.example.com/"}
    theirs = client.post(f"{other_org.api}/resources", json=body, headers=other_org.admin)
    assert theirs.status_code == 201, theirs.text
    assert admin_login(browser, org.admin_token).status_code == 303
    resp = post(browser, f"/admin/resources/{theirs.json()['resource_id']}/delete", {})
    assert resp.status_code == 404
    assert len(_api(client, other_org, "/resources")) == 1


def test_new_pages_render_and_need_a_session(admin, browser):
    for path in ("issuers", "federation", "resources"):
        assert admin.get(f"/admin/{path}").status_code == 200
    from fastapi.testclient import TestClient

    anonymous = TestClient(browser.app, base_url=ORIGIN, follow_redirects=False)
    for path in ("issuers", "federation", "resources"):
        assert anonymous.get(f"/admin/{path}").status_code == 303
        refused = anonymous.post(f"/admin/{path}", data={}, headers={"Origin": ORIGIN})
        assert refused.status_code in (303, 403)

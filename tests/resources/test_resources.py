"""The protected-resource registry: admin CRUD, RFC 8707 audiences, RFC 9728 documents."""

import jwt
import pytest

from tests import factories
from tests.helpers import assert_oauth_error

MCP_URI = "https://tools.example/mcp"


def _body(**overrides):
    body = {
        "name": "Payments tools",
        "resource_uri": MCP_URI,
        "kind": "mcp",
        "tools": {"get_balance": "document.read", "pay_invoice": "payments.authorize"},
    }
    return {**body, **overrides}


def _register(client, org, **overrides):
    return client.post(f"{org.api}/resources", json=_body(**overrides), headers=org.admin)


def _aud(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["aud"]


def test_an_admin_registers_a_resource_and_reads_it_back(client, org):
    # Given an admin, when they register an MCP server with its tool map,
    created = _register(client, org)
    # then it gets an id and every field is as sent,
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["resource_id"].startswith("res_")
    assert body["tools"]["pay_invoice"] == "payments.authorize"
    assert body["kind"] == "mcp" and body["default_permission"] is None
    # and it is listed and readable by id.
    listed = client.get(f"{org.api}/resources", headers=org.admin).json()
    assert [r["resource_id"] for r in listed["items"]] == [body["resource_id"]]
    assert listed["next_cursor"] is None
    one = client.get(f"{org.api}/resources/{body['resource_id']}", headers=org.admin)
    assert one.json()["resource_uri"] == MCP_URI


def test_put_replaces_the_tool_map_and_delete_removes_the_resource(client, org):
    resource_id = _register(client, org).json()["resource_id"]
    url = f"{org.api}/resources/{resource_id}"
    replaced = client.put(url, json=_body(tools={"search": "document.read"}), headers=org.admin)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["tools"] == {"search": "document.read"}
    assert client.delete(url, headers=org.admin).status_code == 204
    assert_oauth_error(client.get(url, headers=org.admin), 404, "not_found")


def test_the_same_uri_twice_in_one_org_is_a_conflict(client, org):
    assert _register(client, org).status_code == 201
    assert_oauth_error(_register(client, org, name="again"), 409, "conflict", mentions=MCP_URI)


def test_another_orgs_resource_is_not_found(client, org, other_org):
    resource_id = _register(client, org).json()["resource_id"]
    resp = client.get(f"{other_org.api}/resources/{resource_id}", headers=other_org.admin)
    assert_oauth_error(resp, 404, "not_found")


def test_an_agent_token_cannot_manage_resources(client, org, agent):
    resp = client.post(f"{org.api}/resources", json=_body(), headers=agent.bearer(client))
    assert_oauth_error(resp, 401, "invalid_token", mentions="admin token")


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"resource_uri": "http://tools.example/mcp"}, "https"),
        ({"resource_uri": "https://tools.example/mcp#frag"}, "fragment"),
        ({"resource_uri": "tools.example/mcp"}, "absolute"),
        ({"resource_uri": "https://user:pw@tools.example/mcp"}, "credentials"),
        ({"kind": "database"}, "kind"),
        ({"tools": {"pay": "Not A Permission"}}, "pay"),
        ({"tools": {"": "document.read"}}, "tool name"),
        ({"default_permission": "nope"}, "default_permission"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_bad_resource_is_refused_with_the_rule_it_broke(client, org, overrides, mentions):
    assert_oauth_error(_register(client, org, **overrides), 422, "invalid_request", mentions)


def test_http_on_loopback_is_accepted_for_development(client, org):
    # The test settings are a development-like environment: a local MCP server may be plain http.
    assert _register(client, org, resource_uri="http://127.0.0.1:8765/mcp").status_code == 201


def test_a_token_for_a_registered_resource_has_its_uri_as_audience(client, org, agent):
    _register(client, org)
    token = agent.token(client, resource=MCP_URI)
    assert _aud(token) == MCP_URI


def test_once_an_org_registers_resources_an_unknown_one_is_invalid_target(client, org, agent):
    # Given an org without resources, any absolute URI is an audience (RFC 8707 as before);
    assert _aud(agent.token(client, resource="https://elsewhere.example/")) == (
        "https://elsewhere.example/"
    )
    # when it registers one, an unregistered resource is refused,
    _register(client, org)
    resp = factories.request_token(
        client, org, agent.assertion(), resource="https://elsewhere.example/"
    )
    assert_oauth_error(resp, 400, "invalid_target", mentions="not registered")
    # and a token without a resource is still for the issuer.
    assert _aud(agent.token(client)) == org.issuer


def test_a_jit_request_for_an_unregistered_resource_is_invalid_target(client, org, agent):
    _register(client, org)
    body = {
        "permission": "payments.authorize",
        "justification": "pay invoice INV-7",
        "operation": {"tool": "pay_invoice", "arguments": {"invoice": "INV-7"}},
        "resource": "https://elsewhere.example/",
    }
    resp = client.post(f"{org.api}/jit/requests", json=body, headers=agent.bearer(client))
    assert_oauth_error(resp, 400, "invalid_target")


def test_the_rfc_9728_document_names_the_resource_and_its_issuer(client, org):
    resource_id = _register(client, org).json()["resource_id"]
    url = f"/orgs/{org.org_id}/.well-known/oauth-protected-resource/resources/{resource_id}"
    doc = client.get(url)
    assert doc.status_code == 200, doc.text
    assert doc.json() == {
        "resource": MCP_URI,
        "resource_name": "Payments tools",
        "authorization_servers": [org.issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["document.read", "payments.authorize"],
    }


def test_the_rfc_9728_document_of_an_unknown_resource_is_not_found(client, org, other_org):
    resource_id = _register(client, org).json()["resource_id"]
    url = f"/orgs/{other_org.org_id}/.well-known/oauth-protected-resource/resources/{resource_id}"
    assert_oauth_error(client.get(url), 404, "not_found")


def _jit_body(**overrides):
    body = {
        "permission": "payments.authorize",
        "justification": "tool call pay_invoice",
        "operation": {"tool": "pay_invoice", "arguments": {"invoice": "INV-7"}},
    }
    return {**body, **overrides}


def test_the_resource_lists_how_each_of_its_permissions_is_granted(client, org):
    approver = client.post(
        f"{org.api}/approvers", json={"email": "alice@example.com"}, headers=org.admin
    ).json()
    factories.set_policy(
        client, org, "payments.authorize", "jit", approvers=[approver["approver_id"]]
    )
    body = _register(client, org).json()
    assert body["modes"] == {"document.read": "standing", "payments.authorize": "jit"}


def test_a_resource_bound_token_opens_a_jit_request_for_its_own_server(client, org, agent):
    # Given a token the agent got for a registered MCP server (what its caller presents),
    _register(client, org)
    token = agent.token(client, resource=MCP_URI)
    bearer = {"Authorization": f"Bearer {token}"}
    # when that server opens a JIT request with it, the request is bound to that server,
    made = client.post(f"{org.api}/jit/requests", json=_jit_body(), headers=bearer)
    assert made.status_code in (200, 202), made.text
    assert made.json()["resource"] == MCP_URI
    # and the server may read it back with the same token.
    read = client.get(f"{org.api}/jit/requests/{made.json()['request_id']}", headers=bearer)
    assert read.status_code == 200, read.text


def test_a_resource_bound_token_asks_only_for_its_servers_permissions(client, org, agent):
    _register(client, org, tools={"get_balance": "document.read"})
    bearer = {"Authorization": f"Bearer {agent.token(client, resource=MCP_URI)}"}
    other_perm = client.post(f"{org.api}/jit/requests", json=_jit_body(), headers=bearer)
    assert_oauth_error(other_perm, 403, "forbidden", mentions="payments.authorize")
    other_server = _jit_body(permission="document.read", resource="https://else.example/")
    resp = client.post(f"{org.api}/jit/requests", json=other_server, headers=bearer)
    assert_oauth_error(resp, 403, "forbidden", mentions=MCP_URI)


def test_a_resource_bound_token_is_still_no_credential_elsewhere_on_jitgate(client, org, agent):
    _register(client, org)
    bearer = {"Authorization": f"Bearer {agent.token(client, resource=MCP_URI)}"}
    check = client.post(
        f"{org.api}/authz/check", json={"permission": "document.read"}, headers=bearer
    )
    assert_oauth_error(check, 401, "invalid_token")

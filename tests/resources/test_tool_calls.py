"""POST /resources/tool-calls: a protected server (jitgate.mcp, the MCP proxy) records each tool
call and its outcome in the audit trail, with the org's admin token and its caller's token as
proof that the agent presented a token for that resource."""

import hashlib

import pytest
import rfc8785

from tests.helpers import assert_oauth_error

MCP_URI = "https://tools.example/mcp"
OTHER_URI = "https://other.example/mcp"
ARGUMENTS = {"account": "ACC-1"}


def _operation_hash(tool: str, arguments: dict) -> str:
    return hashlib.sha256(rfc8785.dumps({"tool": tool, "arguments": arguments})).hexdigest()


@pytest.fixture
def resource_id(client, org) -> str:
    body = {"name": "tools", "resource_uri": MCP_URI, "tools": {"get_balance": "document.read"}}
    other = {"name": "other", "resource_uri": OTHER_URI, "tools": {"x": "document.read"}}
    assert client.post(f"{org.api}/resources", json=other, headers=org.admin).status_code == 201
    resp = client.post(f"{org.api}/resources", json=body, headers=org.admin)
    assert resp.status_code == 201, resp.text
    return resp.json()["resource_id"]


def _report(caller_token: str, **overrides):
    body = {
        "resource": MCP_URI,
        "token": caller_token,
        "tool": "get_balance",
        "operation_hash": _operation_hash("get_balance", ARGUMENTS),
        "arguments": ARGUMENTS,
        "outcome": "success",
    }
    return {**body, **overrides}


def _post(client, org, body, headers):
    return client.post(f"{org.api}/resources/tool-calls", json=body, headers=headers)


def test_a_reported_tool_call_is_in_the_audit_trail_as_the_agents(client, org, agent, resource_id):
    # Given the token an agent presented to the MCP server,
    caller = agent.token(client, resource=MCP_URI)
    # when the server reports the call with the org's admin token,
    resp = _post(client, org, _report(caller), org.admin)
    # then it is recorded, as the agent's call of that tool on that resource.
    assert resp.status_code == 201, resp.text
    assert resp.json()["recorded"] is True
    params = {"action": "mcp.tool_call", "limit": 10}
    events = client.get(f"{org.api}/audit", params=params, headers=org.admin).json()["items"]
    assert len(events) == 1
    event = events[0]
    assert (event["actor"], event["target"], event["outcome"]) == (
        agent.agent_id,
        resource_id,
        "success",
    )
    assert event["details"]["tool"] == "get_balance"
    assert event["details"]["arguments"] == ARGUMENTS
    assert event["details"]["resource_uri"] == MCP_URI
    assert event["details"]["operation_hash"] == _operation_hash("get_balance", ARGUMENTS)


def test_a_refused_call_is_recorded_with_its_reason(client, org, agent, resource_id):
    caller = agent.token(client, resource=MCP_URI)
    body = _report(caller, tool="drop_tables", outcome="refused", reason="not in the tool map")
    body["operation_hash"] = _operation_hash("drop_tables", ARGUMENTS)
    assert _post(client, org, body, org.admin).status_code == 201
    params = {"action": "mcp.tool_call", "limit": 10}
    event = client.get(f"{org.api}/audit", params=params, headers=org.admin).json()["items"][0]
    assert (event["outcome"], event["reason"]) == ("refused", "not in the tool map")


def test_only_the_orgs_admin_token_may_report(client, org, other_org, agent, resource_id):
    caller = agent.token(client, resource=MCP_URI)
    body = _report(caller)
    # The agent itself (its ordinary token, or the resource-bound one) may not write the record,
    for headers in (agent.bearer(client), {"Authorization": f"Bearer {caller}"}):
        assert_oauth_error(_post(client, org, body, headers), 401, "invalid_token")
    # nor an approver,
    approver = client.post(
        f"{org.api}/approvers", json={"email": "boss@acme.example"}, headers=org.admin
    ).json()["api_token"]
    resp = _post(client, org, body, {"Authorization": f"Bearer {approver}"})
    assert_oauth_error(resp, 401, "invalid_token", mentions="admin token")
    # nor another org's admin, and nothing is recorded.
    assert_oauth_error(_post(client, org, body, other_org.admin), 404, "not_found")
    params = {"action": "mcp.tool_call"}
    assert client.get(f"{org.api}/audit", params=params, headers=org.admin).json()["items"] == []


def test_the_callers_token_must_be_for_that_resource(client, org, agent, resource_id):
    # A token for another resource, or for jitgate itself, proves no call on this one.
    for caller in (agent.token(client, resource=OTHER_URI), agent.token(client)):
        resp = _post(client, org, _report(caller), org.admin)
        assert_oauth_error(resp, 422, "invalid_request", mentions="token")


def test_an_unregistered_resource_is_refused(client, org, agent, resource_id):
    caller = agent.token(client, resource=MCP_URI)
    resp = _post(client, org, _report(caller, resource="https://nowhere.example/mcp"), org.admin)
    assert_oauth_error(resp, 400, "invalid_target")


def test_another_orgs_agent_token_is_refused(client, org, other_org, resource_id):
    from tests import factories

    body = {"name": "tools", "resource_uri": MCP_URI, "tools": {"get_balance": "document.read"}}
    client.post(f"{other_org.api}/resources", json=body, headers=other_org.admin)
    stranger = factories.register_agent(client, other_org, capabilities=["document.read"])
    caller = stranger.token(client, resource=MCP_URI)
    resp = _post(client, org, _report(caller), org.admin)
    assert_oauth_error(resp, 422, "invalid_request", mentions="token")


def test_arguments_must_match_the_operation_hash(client, org, agent, resource_id):
    caller = agent.token(client, resource=MCP_URI)
    body = _report(caller, arguments={"account": "ACC-2"})
    assert_oauth_error(_post(client, org, body, org.admin), 422, "invalid_request", "hash")


def test_the_hash_alone_is_enough_for_large_arguments(client, org, agent, resource_id):
    caller = agent.token(client, resource=MCP_URI)
    body = _report(caller)
    del body["arguments"]
    assert _post(client, org, body, org.admin).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"outcome": "maybe"}, 422),
        ({"operation_hash": "zz"}, 422),
        ({"tool": "bad tool name"}, 422),
        ({"token": "not-a-jwt"}, 422),
    ],
)
def test_malformed_reports_are_clear_4xx(client, org, agent, resource_id, overrides, status):
    caller = agent.token(client, resource=MCP_URI)
    resp = _post(client, org, _report(caller, **overrides), org.admin)
    assert_oauth_error(resp, status, "invalid_request")


def test_a_jit_request_named_must_be_that_agents_call(client, org, agent, resource_id):
    caller = agent.token(client, resource=MCP_URI)
    resp = _post(client, org, _report(caller, jit_request_id="jit_unknown"), org.admin)
    assert_oauth_error(resp, 422, "invalid_request", mentions="jit_unknown")


def _approved_jit(client, org, agent):
    from tests.jit.conftest import Jit

    jit = Jit(client, org)
    alice = jit.approver("alice")
    jit.policy([alice])
    operation = {"tool": "get_balance", "arguments": ARGUMENTS}
    return jit.approved_token(agent, alice, resource=MCP_URI, operation=operation)


def test_a_jit_token_is_neither_the_credential_nor_the_callers_token(
    client, org, agent, resource_id
):
    request_id, jit_token = _approved_jit(client, org, agent)
    caller = agent.token(client, resource=MCP_URI)
    # As the bearer it is refused (it is good for its one operation only),
    resp = _post(client, org, _report(caller), {"Authorization": f"Bearer {jit_token}"})
    assert_oauth_error(resp, 401, "invalid_token")
    # and as the caller's token too: a JIT token is redeemed, never presented to a tool.
    resp = _post(client, org, _report(jit_token), org.admin)
    assert_oauth_error(resp, 422, "invalid_request", mentions="JIT token")


def test_a_jit_call_names_its_request(client, org, agent, resource_id):
    request_id, _ = _approved_jit(client, org, agent)
    caller = agent.token(client, resource=MCP_URI)
    resp = _post(client, org, _report(caller, jit_request_id=request_id), org.admin)
    assert resp.status_code == 201, resp.text
    params = {"action": "mcp.tool_call", "limit": 10}
    event = client.get(f"{org.api}/audit", params=params, headers=org.admin).json()["items"][0]
    assert event["details"]["jit_request_id"] == request_id
    # Another call (other arguments) cannot borrow that request.
    other = {"account": "ACC-9"}
    body = _report(caller, jit_request_id=request_id, arguments=other)
    body["operation_hash"] = _operation_hash("get_balance", other)
    assert_oauth_error(_post(client, org, body, org.admin), 422, "invalid_request", request_id)

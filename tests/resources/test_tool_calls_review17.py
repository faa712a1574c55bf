"""Review 17 regressions on POST /resources/tool-calls: a delegated caller's call names the
agent; a refused call is recorded whatever its tool name, and without a hash when its arguments
have none; malformed input is a 4xx."""

import pytest

from tests.federation.users import acting_for_alice
from tests.resources.test_tool_calls import ARGUMENTS, MCP_URI, _post, _report

pytest.importorskip("mcp")


def _events(client, org):
    params = {"action": "mcp.tool_call", "limit": 50}
    return client.get(f"{org.api}/audit", params=params, headers=org.admin).json()["items"]


@pytest.fixture
def resource(client, org):
    body = {"name": "tools", "resource_uri": MCP_URI, "tools": {"get_balance": "document.read"}}
    assert client.post(f"{org.api}/resources", json=body, headers=org.admin).status_code == 201


def _reporter_body(record, caller: str) -> dict:
    from jitgate.mcp.audit import ToolCallReporter

    reporter = ToolCallReporter(api="x", resource_uri=MCP_URI, admin_token="t", http=None)
    return reporter.body(record, caller)


def _deep(levels: int) -> dict:
    deep: dict = {}
    cur = deep
    for _ in range(levels):
        cur["n"] = {}
        cur = cur["n"]
    return deep


@pytest.mark.parametrize(
    "arguments", [{"account": "A", "x": 2**53 + 1}, {"account": "A", "x": _deep(12)}]
)
def test_F1_a_call_refused_for_arguments_without_canonical_form_is_recorded(
    client, org, agent, resource, arguments
):
    # The gate refuses such a call before it runs (jitgate.mcp.gate); its report carries
    # neither the arguments nor a hash -- and the service records it as refused.
    from jitgate.mcp.audit import REFUSED, CallRecord, checked_arguments

    caller = agent.token(client, resource=MCP_URI)
    checked = checked_arguments("get_balance", arguments)
    assert checked.refusal is not None and checked.digest is None
    record = CallRecord("get_balance", arguments, REFUSED, checked.refusal, checked=checked)
    body = _reporter_body(record, caller)
    assert "arguments" not in body and "operation_hash" not in body
    resp = _post(client, org, body, org.admin)
    assert resp.status_code == 201, resp.text
    event = _events(client, org)[0]
    assert event["outcome"] == "refused" and "operation_hash" not in event["details"]


def test_F1_only_a_refused_call_may_be_reported_without_a_hash(client, org, agent, resource):
    caller = agent.token(client, resource=MCP_URI)
    for outcome in ("success", "error"):
        body = _report(caller, outcome=outcome)
        del body["operation_hash"], body["arguments"]
        resp = _post(client, org, body, org.admin)
        assert resp.status_code == 422, resp.text
    assert _events(client, org) == []


def test_F1_a_refused_call_with_an_odd_tool_name_is_recorded_escaped(client, org, agent, resource):
    from jitgate.mcp.audit import CallRecord

    caller = agent.token(client, resource=MCP_URI)
    names = {"drop tables": "drop tables", "x" * 300: "x" * 128, "ünïcode": "ünïcode",
             "a\nb\x00\ud800": "a\\nb\\x00\\ud800"}  # fmt: skip
    for tool, stored in names.items():
        body = _reporter_body(CallRecord(tool, {}, "refused", "not permitted"), caller)
        resp = _post(client, org, body, org.admin)
        assert resp.status_code == 201, (tool, resp.text)
        assert _events(client, org)[0]["details"]["tool"] == stored


@pytest.fixture
def planner(client, org):
    from tests.factories import register_agent

    return register_agent(client, org, capabilities=["delegation.act", "document.read"])


def test_F2_a_delegated_callers_call_names_the_agent(client, org, planner, resource):
    # A delegated token (sub = the user, act.sub = the agent) for the MCP resource.
    caller = acting_for_alice(client, planner, resource=MCP_URI, scope="document.read")
    resp = _post(client, org, _report(caller), org.admin)
    assert resp.status_code == 201, resp.text
    event = _events(client, org)[0]
    assert event["actor"] == planner.agent_id, event
    assert event["details"]["on_behalf_of"] not in (None, planner.agent_id)


def test_F2_a_delegated_callers_jit_call_is_recorded(client, org, planner, resource):
    from tests.jit.conftest import Jit

    caller = acting_for_alice(client, planner, resource=MCP_URI, scope="document.read")
    jit = Jit(client, org)
    jit.policy([jit.approver("alice")], permission="document.read")
    # The gate opens the request with its caller's (delegated, resource-bound) token,
    body = {
        "permission": "document.read",
        "justification": "MCP tool call get_balance",
        "operation": {"tool": "get_balance", "arguments": ARGUMENTS},
        "resource": MCP_URI,
    }
    auth = {"Authorization": f"Bearer {caller}"}
    resp = client.post(f"{org.api}/jit/requests", json=body, headers=auth)
    assert resp.status_code == 202, resp.text
    request_id = resp.json()["request_id"]
    # ... and reports the call naming the request: it is the agent's own request.
    resp = _post(client, org, _report(caller, jit_request_id=request_id), org.admin)
    assert resp.status_code == 201, resp.text
    assert _events(client, org)[0]["details"]["jit_request_id"] == request_id


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6MX0.e30.AA",
        "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsifQ.e30.AA",
        "....",
        "\u00e9.\u00e9.\u00e9",
    ],
)
def test_malformed_tokens_are_4xx_not_500(client, org, resource, token):
    resp = _post(client, org, _report(token), org.admin)
    assert 400 <= resp.status_code < 500, resp.text


HASH = b'"operation_hash": "' + b"0" * 64 + b'"'


@pytest.mark.parametrize(
    "raw",
    [
        b'{"resource": "https://tools.example/mcp", "token": "x", "tool": "t", '
        + HASH
        + b', "arguments": {"a": NaN}, "outcome": "success"}',
        b"[]",
        b'{"resource": 1}',
        b'{"resource": "https://tools.example/mcp", "token": "x", "tool": "t", '
        + HASH
        + b', "arguments": {"a": 1e999}, "outcome": "success"}',
    ],
)
def test_malformed_bodies_are_4xx_not_500(client, org, resource, raw):
    headers = {**org.admin, "Content-Type": "application/json"}
    resp = client.post(f"{org.api}/resources/tool-calls", content=raw, headers=headers)
    assert 400 <= resp.status_code < 500, resp.text
    assert _events(client, org) == []

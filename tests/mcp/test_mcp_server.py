"""An MCP server protected with jitgate.mcp, driven by a real MCP client over streamable HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.mcp.conftest import (
    approve_when_pending,
    mcp_session,
    token_for,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _text(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def test_a_permitted_tool_runs(jitgate_server, tool_server, agent):
    # Given a token for this server holding document.read,
    token = token_for(jitgate_server, agent, tool_server.resource_uri)
    async with mcp_session(tool_server.url, token) as session:
        # when the client calls the standing tool, it runs.
        result = await session.call_tool("get_balance", {"account": "ACC-1"})
    assert not result.is_error, _text(result)
    assert ("get_balance", {"account": "ACC-1"}) in tool_server.ran


async def test_an_unmapped_tool_is_not_listed_and_never_runs(jitgate_server, tool_server, agent):
    token = token_for(jitgate_server, agent, tool_server.resource_uri)
    async with mcp_session(tool_server.url, token) as session:
        listed = {t.name: t for t in (await session.list_tools()).tools}
        result = await session.call_tool("drop_tables", {})
    # The JIT tool is listed, marked; the unmapped one is not listed, and a call is refused.
    assert set(listed) == {"get_balance", "pay_invoice"}
    assert listed["pay_invoice"].meta["io.jitgate/approval"] == "required"
    assert result.is_error and "not permitted" in _text(result)
    assert all(name != "drop_tables" for name, _ in tool_server.ran)


async def test_a_token_for_another_resource_is_refused_with_resource_metadata(
    jitgate_server, tool_server, agent
):
    # Given a token for the issuer (not for this server), when it reaches the MCP endpoint,
    token = token_for(jitgate_server, agent, None)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    resp = httpx.post(tool_server.url, json=body, headers=headers)
    # then it is 401 and the header says where this server's metadata is,
    assert resp.status_code == 401
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
    document = httpx.get(metadata_url).json()
    # and that document names this server and jitgate as its authorization server.
    assert document["resource"] == tool_server.resource_uri
    issuer = f"{jitgate_server.base_url}/orgs/{jitgate_server.org_id}"
    assert document["authorization_servers"] == [issuer]
    root = httpx.get(tool_server.url.replace("/mcp", "/.well-known/oauth-protected-resource"))
    assert root.json()["scopes_supported"] == ["document.read", "payments.authorize"]


async def test_a_jit_tool_waits_for_approval_runs_once_and_is_not_replayed(
    jitgate_server, tool_server, agent, admin
):
    token = token_for(jitgate_server, agent, tool_server.resource_uri)
    arguments = {"invoice": "INV-7", "amount": 250}
    found: list[str] = []
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    # Given an approver who will approve from another thread,
    approver = approve_when_pending(admin, agent, found)
    async with mcp_session(tool_server.url, token) as session:
        # when the client calls the JIT tool, the call waits for the decision and then runs,
        result = await session.call_tool("pay_invoice", arguments, progress_callback=on_progress)
        approver.join(timeout=60)
        assert not result.is_error, _text(result)
        assert tool_server.ran.count(("pay_invoice", arguments)) == 1
        assert progress, "no progress notification while waiting"
        request = admin.call("GET", f"jit/requests/{found[0]}")
        assert request["status"] == "consumed"
        assert request["operation"] == {"tool": "pay_invoice", "arguments": arguments}
        # and the same call again is not a replay of that approval: it needs a new one.
        tool_server.gate.jit_wait = 2
        try:
            again = await session.call_tool("pay_invoice", arguments)
        finally:
            tool_server.gate.jit_wait = 30
    assert again.is_error and "JIT request jit_" in _text(again)
    assert tool_server.ran.count(("pay_invoice", arguments)) == 1
    # The audit trail has the approved run (naming its request) and the refused replay.
    runs = [e for e in tool_call_events(admin, agent) if e["details"]["arguments"] == arguments]
    outcomes = sorted((e["outcome"], e["details"].get("jit_request_id")) for e in runs)
    assert outcomes[0] == ("refused", _request_id(_text(again)))
    assert outcomes[1] == ("success", found[0])


def _request_id(text: str) -> str:
    return "jit_" + text.split("JIT request jit_")[1].split()[0]


async def test_a_timed_out_call_is_matched_to_its_request_and_other_arguments_are_not(
    jitgate_server, tool_server, agent, admin
):
    token = token_for(jitgate_server, agent, tool_server.resource_uri)
    arguments = {"invoice": "INV-8", "amount": 10}
    tool_server.gate.jit_wait = 2
    try:
        async with mcp_session(tool_server.url, token) as session:
            # Given a JIT call that timed out, naming its request,
            first = await session.call_tool("pay_invoice", arguments)
            assert first.is_error, _text(first)
            request_id = _request_id(_text(first))
            # when that request is approved and the client calls again with the same arguments,
            admin.approve(request_id, agent.approver_token or "")
            second = await session.call_tool("pay_invoice", arguments)
            # then that approval is used: the tool runs once.
            assert not second.is_error, _text(second)
            assert tool_server.ran.count(("pay_invoice", arguments)) == 1
            assert admin.call("GET", f"jit/requests/{request_id}")["status"] == "consumed"
            # Different arguments are a different operation: a new request, and no run.
            other = {"invoice": "INV-8", "amount": 11}
            third = await session.call_tool("pay_invoice", other)
    finally:
        tool_server.gate.jit_wait = 30
    assert third.is_error and _request_id(_text(third)) != request_id
    assert ("pay_invoice", other) not in tool_server.ran


def tool_call_events(admin, agent) -> list[dict]:
    params = {"actor": agent.agent_id, "action": "mcp.tool_call", "limit": 200}
    return admin.call("GET", "audit", params=params)["items"]


async def test_standing_and_refused_calls_are_audited_with_their_outcome(
    jitgate_server, tool_server, agent, admin
):
    # Given a caller of the protected server,
    token = token_for(jitgate_server, agent, tool_server.resource_uri)
    before = len(tool_call_events(admin, agent))
    async with mcp_session(tool_server.url, token) as session:
        # when it calls a standing tool and an unmapped one,
        await session.call_tool("get_balance", {"account": "ACC-AUDIT"})
        await session.call_tool("drop_tables", {})
    # then both calls are in the audit trail as the agent's, each with its outcome.
    events = tool_call_events(admin, agent)[: len(tool_call_events(admin, agent)) - before]
    by_tool = {e["details"]["tool"]: e for e in events}
    assert by_tool["get_balance"]["outcome"] == "success"
    assert by_tool["get_balance"]["details"]["arguments"] == {"account": "ACC-AUDIT"}
    assert by_tool["get_balance"]["details"]["resource_uri"] == tool_server.resource_uri
    assert by_tool["drop_tables"]["outcome"] == "refused"
    assert "not permitted" in by_tool["drop_tables"]["reason"]

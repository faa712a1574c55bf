"""LangChain / LangGraph adapter against the real packages, driven by tool calls (no model)."""

from __future__ import annotations

import asyncio
import uuid

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from jitgate.adapters.langchain import (
    gated_tool,
    mcp_connection,
    pending_approvals,
    wait_and_resume,
)


def tool_call(amount: int, call_id: str = "call_1") -> dict:
    message = AIMessage(
        content="",
        tool_calls=[
            {"name": "pay_invoice", "args": {"amount": amount}, "id": call_id, "type": "tool_call"}
        ],
    )
    return {"messages": [message]}


def build_graph(tool, checkpointer=None):
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([tool]))
    builder.add_edge(START, "tools")
    return builder.compile(checkpointer=checkpointer)


def make_pay(calls: list[int]):
    def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        calls.append(amount)
        return f"paid {amount}"

    return pay_invoice


def test_blocking_gated_tool_waits_for_approval_and_runs_once(auth, human):
    calls: list[int] = []
    tool = gated_tool(make_pay(calls), "payments.authorize", auth=auth, on_pending=human())

    result = build_graph(tool).invoke(tool_call(42))

    message = result["messages"][-1]
    assert isinstance(message, ToolMessage) and message.content == "paid 42"
    assert calls == [42]


def test_denied_call_returns_the_refusal_to_the_model(auth, human):
    calls: list[int] = []
    tool = gated_tool(make_pay(calls), "payments.authorize", auth=auth, on_pending=human(deny=True))

    result = build_graph(tool).invoke(tool_call(7))

    assert result["messages"][-1].content.startswith("Refused: payments.authorize")
    assert calls == []


def test_interrupt_flow_pauses_the_graph_and_resumes_on_the_decision(admin, agent, auth):
    calls: list[int] = []
    tool = gated_tool(make_pay(calls), "payments.authorize", auth=auth, use_interrupt=True)
    graph = build_graph(tool, InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}

    paused = graph.invoke(tool_call(99), config)
    (pending,) = pending_approvals(paused)
    assert calls == [] and pending["permission"] == "payments.authorize"

    # Replaying the paused node asks jitgate again with the same key: the same request.
    again = graph.invoke(tool_call(99), config)
    assert pending_approvals(again)[0]["request_id"] == pending["request_id"]

    admin.approve(pending["request_id"], agent.approver_token)
    done = wait_and_resume(graph, config, again, auth=auth)

    assert done["messages"][-1].content == "paid 99"
    assert calls == [99]
    assert auth.get_jit_request(pending["request_id"]).status == "consumed"


# --- acting for the end user (delegation) ---------------------------------------------------


def test_tool_acts_for_the_user_named_in_the_run_config(admin, auth, human, end_user, for_user):
    # given a tool that takes the end user's token from the run's config
    calls: list[int] = []
    seen: list[str] = []
    tool = gated_tool(
        make_pay(calls),
        "payments.authorize",
        auth=auth,
        on_pending=human(seen=seen),
        user_token=lambda config: config["configurable"]["user_token"],
    )
    # when the graph runs for alice
    config = {"configurable": {"user_token": end_user}}
    result = build_graph(tool).invoke(tool_call(5, call_id="call_user"), config)
    # then the call was made through a client acting for her, approved and run once
    assert for_user.tokens == [end_user]
    assert result["messages"][-1].content == "paid 5" and calls == [5]
    # jitgate saw who the agent acted for
    assert admin.call("GET", f"jit/requests/{seen[0]}")["on_behalf_of"] == "alice"


def test_without_a_user_token_the_agent_acts_as_itself(auth, human, for_user):
    calls: list[int] = []
    tool = gated_tool(
        make_pay(calls),
        "payments.authorize",
        auth=auth,
        on_pending=human(),
        user_token=lambda config: (config.get("configurable") or {}).get("user_token"),
    )
    result = build_graph(tool).invoke(tool_call(6, call_id="call_self"))
    assert result["messages"][-1].content == "paid 6" and for_user.tokens == []


def test_an_mcp_server_protected_by_jitgate_gives_langgraph_its_permitted_tools(
    async_auth, protected_mcp
):
    from langchain_mcp_adapters.client import MultiServerMCPClient

    # Given a jitgate-protected MCP server and only the agent's jitgate identity,
    client = MultiServerMCPClient({"payments": mcp_connection(protected_mcp.url, auth=async_auth)})

    async def scenario():
        tools = {t.name: t for t in await client.get_tools()}
        return tools, await tools["get_balance"].ainvoke({"account": "ACC-L"})

    # when LangChain loads its tools (the token found by discovery) and one runs,
    tools, result = asyncio.run(scenario())
    # then the permitted and the JIT tool are there, the unmapped one is not, and it ran.
    assert set(tools) == {"get_balance", "pay_invoice"}
    assert "ACC-L: 100 EUR" in str(result)
    assert protected_mcp.ran() == [("get_balance", {"account": "ACC-L"})]
    # And inside a graph, a ToolNode runs the MCP tool like any other.
    call = AIMessage(
        content="",
        tool_calls=[
            {"name": "get_balance", "args": {"account": "ACC-N"}, "id": "c1", "type": "tool_call"}
        ],
    )
    out = asyncio.run(build_graph(tools["get_balance"]).ainvoke({"messages": [call]}))
    assert "ACC-N: 100 EUR" in str(out["messages"][-1].content)
    assert protected_mcp.ran()[-1] == ("get_balance", {"account": "ACC-N"})

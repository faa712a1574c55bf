"""OpenAI Agents SDK adapter, run by Runner with the SDK's own ScriptedModel (no LLM)."""

from __future__ import annotations

import asyncio

from agents import Agent, Runner
from agents.testing import ScriptedModel, assistant_message, function_call

from jitgate.adapters.openai_agents import gated_tool, mcp_server, resolve_approvals


def make_agent(tool, *, call_id: str = "call_1"):
    model = ScriptedModel(
        [
            [function_call("pay_invoice", {"amount": 42}, call_id=call_id)],
            [assistant_message("done")],
        ]
    )
    return Agent(name="payer", instructions="pay", model=model, tools=[tool])


def pay_tool(calls: list[int], auth, on_pending):
    async def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        calls.append(amount)
        return f"paid {amount}"

    return gated_tool(pay_invoice, "payments.authorize", auth=auth, on_pending=on_pending)


def test_run_pauses_for_jitgate_and_the_approved_call_runs_once(async_auth, human):
    calls: list[int] = []
    tool = pay_tool(calls, async_auth, human())
    agent = make_agent(tool)

    async def scenario():
        paused = await Runner.run(agent, "pay invoice 42")
        assert len(paused.interruptions) == 1 and calls == []
        state = await resolve_approvals(paused, [tool], auth=async_auth)
        return await Runner.run(agent, state)

    result = asyncio.run(scenario())
    assert result.final_output == "done"
    assert calls == [42]
    outputs = [
        i.output for i in result.new_items if getattr(i, "type", "") == "tool_call_output_item"
    ]
    assert "paid 42" in outputs


def test_denied_call_is_rejected_with_the_reason(async_auth, human):
    calls: list[int] = []
    tool = pay_tool(calls, async_auth, human(deny=True))
    agent = make_agent(tool, call_id="call_2")

    async def scenario():
        paused = await Runner.run(agent, "pay invoice 42")
        state = await resolve_approvals(paused, [tool], auth=async_auth)
        return await Runner.run(agent, state)

    result = asyncio.run(scenario())
    assert calls == []
    outputs = [
        str(i.output) for i in result.new_items if getattr(i, "type", "") == "tool_call_output_item"
    ]
    assert any("Refused" in o for o in outputs)


# --- acting for the end user (delegation) ---------------------------------------------------


class UserContext:
    """What the application passes to Runner.run(context=...): the signed-in user's token."""

    def __init__(self, user_token: str) -> None:
        self.user_token = user_token


def test_run_acts_for_the_user_in_the_run_context(admin, async_auth, human, end_user, for_user):
    calls: list[int] = []
    seen: list[str] = []

    async def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        calls.append(amount)
        return f"paid {amount}"

    tool = gated_tool(
        pay_invoice,
        "payments.authorize",
        auth=async_auth,
        on_pending=human(seen=seen),
        user_token=lambda ctx: ctx.context.user_token,
    )
    agent = make_agent(tool, call_id="call_user")

    async def scenario():
        paused = await Runner.run(agent, "pay invoice 42", context=UserContext(end_user))
        assert len(paused.interruptions) == 1 and calls == []
        state = await resolve_approvals(paused, [tool], auth=async_auth)
        return await Runner.run(agent, state)

    result = asyncio.run(scenario())
    assert result.final_output == "done" and calls == [42]
    # every jitgate call of the run (needs_approval, resolve, the tool body) acted for the user
    assert len(for_user.tokens) == 3 and set(for_user.tokens) == {end_user}
    # jitgate saw who the agent acted for
    assert admin.call("GET", f"jit/requests/{seen[0]}")["on_behalf_of"] == "alice"


def test_a_user_token_function_returning_none_leaves_the_agent_acting_as_itself(
    async_auth, human, for_user
):
    calls: list[int] = []
    tool = pay_tool_for_nobody(calls, async_auth, human())
    agent = make_agent(tool, call_id="call_self")

    async def scenario():
        paused = await Runner.run(agent, "pay invoice 42")
        state = await resolve_approvals(paused, [tool], auth=async_auth)
        return await Runner.run(agent, state)

    assert asyncio.run(scenario()).final_output == "done"
    assert calls == [42] and for_user.tokens == []


def pay_tool_for_nobody(calls: list[int], auth, on_pending):
    async def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        calls.append(amount)
        return f"paid {amount}"

    return gated_tool(
        pay_invoice,
        "payments.authorize",
        auth=auth,
        on_pending=on_pending,
        user_token=lambda ctx: None,
    )


def test_an_agent_uses_a_jitgate_protected_mcp_server(async_auth, protected_mcp):
    # Given a jitgate-protected MCP server and only the agent's jitgate identity,
    async def scenario():
        async with mcp_server(protected_mcp.url, auth=async_auth) as server:
            listed = {t.name for t in await server.list_tools()}
            model = ScriptedModel(
                [
                    [function_call("get_balance", {"account": "ACC-O"}, call_id="m1")],
                    [assistant_message("done")],
                ]
            )
            agent = Agent(name="reader", instructions="read", model=model, mcp_servers=[server])
            # when the agent runs and the model calls the server's tool,
            result = await Runner.run(agent, "balance of ACC-O")
            return listed, result

    listed, result = asyncio.run(scenario())
    # then the token was found by discovery, the tool listed and run once.
    assert listed == {"get_balance", "pay_invoice"}
    assert result.final_output == "done"
    assert protected_mcp.ran() == [("get_balance", {"account": "ACC-O"})]

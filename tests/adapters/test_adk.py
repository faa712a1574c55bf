"""Google ADK adapter, run by ADK's Runner with a scripted model (no LLM)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import InMemoryRunner
from google.genai import types

from jitgate.adapters.adk import before_tool_callback
from jitgate.guard import Gate


class ScriptedLlm(BaseLlm):
    """Calls pay_invoice once, then answers with the tool's response."""

    model: str = "scripted"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        responses = [
            p.function_response
            for c in llm_request.contents
            for p in (c.parts or [])
            if p.function_response
        ]
        if responses:
            text = str(responses[-1].response)
            yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]))
            return
        call = types.FunctionCall(name="pay_invoice", args={"amount": 42}, id="call_1")
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(function_call=call)])
        )


def run_agent(callback, calls: list[int]) -> str:
    def pay_invoice(amount: int) -> dict:
        """Pay an invoice of the given amount."""
        calls.append(amount)
        return {"status": "paid", "amount": amount}

    agent = LlmAgent(
        name="payer",
        model=ScriptedLlm(),
        instruction="pay",
        tools=[pay_invoice],
        before_tool_callback=callback,
    )

    async def scenario() -> str:
        runner = InMemoryRunner(agent=agent, app_name="jitgate-test")
        session = await runner.session_service.create_session(app_name="jitgate-test", user_id="u1")
        message = types.Content(role="user", parts=[types.Part(text="pay invoice 42")])
        final = ""
        async for event in runner.run_async(
            user_id="u1", session_id=session.id, new_message=message
        ):
            for part in (event.content.parts if event.content else None) or []:
                if part.text:
                    final = part.text
        return final

    return asyncio.run(scenario())


def test_gated_tool_waits_for_approval_and_runs_once(async_auth, human):
    calls: list[int] = []
    callback = before_tool_callback(
        {"pay_invoice": Gate("payments.authorize", jit=True, on_pending=human())},
        auth=async_auth,
    )
    final = run_agent(callback, calls)
    assert calls == [42]
    assert "paid" in final


def test_denied_call_is_skipped_and_the_refusal_reaches_the_model(async_auth, human):
    calls: list[int] = []
    callback = before_tool_callback(
        {"pay_invoice": Gate("payments.authorize", jit=True, on_pending=human(deny=True))},
        auth=async_auth,
    )
    final = run_agent(callback, calls)
    assert calls == []
    assert "Refused" in final

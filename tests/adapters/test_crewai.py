"""CrewAI adapter against the real package: the tool path and the pre-tool-call hook path."""

from __future__ import annotations

from crewai.hooks import (
    ToolCallHookContext,
    clear_before_tool_call_hooks,
    register_before_tool_call_hook,
)
from crewai.hooks.tool_hooks import run_before_tool_call_hooks
from crewai.tools import tool

from jitgate.adapters.crewai import before_tool_call_hook, gated_tool
from jitgate.guard import Gate


def test_gated_tool_waits_for_approval_and_runs_once(auth, human):
    calls: list[int] = []

    def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        calls.append(amount)
        return f"paid {amount}"

    gated = gated_tool(pay_invoice, "payments.authorize", auth=auth, on_pending=human())

    assert gated.run(amount=42) == "paid 42"
    assert calls == [42]
    # CrewAI hands agents a structured tool built from ours: same gate on that path too.
    denied = gated_tool(pay_invoice, "payments.authorize", auth=auth, on_pending=human(deny=True))
    assert denied.to_structured_tool().invoke({"amount": 5}).startswith("Refused")
    assert calls == [42]


def test_before_tool_call_hook_blocks_until_approved(auth, human):
    @tool("pay_invoice")
    def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        return f"paid {amount}"

    seen: list[str] = []
    gate = Gate("payments.authorize", jit=True, on_pending=human(seen=seen))
    register_before_tool_call_hook(before_tool_call_hook({"pay_invoice": gate}, auth=auth))
    try:
        allowed = ToolCallHookContext(
            "pay_invoice", {"amount": 3}, pay_invoice.to_structured_tool()
        )
        other = ToolCallHookContext("lookup", {"q": "x"}, pay_invoice.to_structured_tool())
        assert run_before_tool_call_hooks(allowed) is False  # not blocked
        assert run_before_tool_call_hooks(other) is False
        assert len(seen) == 1 and auth.get_jit_request(seen[0]).status == "consumed"
    finally:
        clear_before_tool_call_hooks()


def test_before_tool_call_hook_blocks_a_denied_call(auth, human):
    @tool("pay_invoice")
    def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        return f"paid {amount}"

    gate = Gate("payments.authorize", jit=True, on_pending=human(deny=True))
    register_before_tool_call_hook(before_tool_call_hook({"pay_invoice": gate}, auth=auth))
    try:
        context = ToolCallHookContext(
            "pay_invoice", {"amount": 3}, pay_invoice.to_structured_tool()
        )
        assert run_before_tool_call_hooks(context) is True  # blocked
    finally:
        clear_before_tool_call_hooks()

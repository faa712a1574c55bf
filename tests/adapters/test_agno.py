"""Agno adapter against the real package: its FunctionCall path runs the tool hook (no model)."""

from __future__ import annotations

from agno.tools.function import Function, FunctionCall

from jitgate.adapters.agno import gated_tool, jitgate_hook
from jitgate.guard import Gate


def call(tool_function: Function, **arguments) -> object:
    tool_function.process_entrypoint()
    result = FunctionCall(function=tool_function, arguments=arguments, call_id="c1").execute()
    assert result.status == "success", result.error
    return result.result


def test_gated_tool_waits_for_approval_and_runs_once(auth, human):
    calls: list[int] = []

    def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        calls.append(amount)
        return f"paid {amount}"

    tool_function = gated_tool(pay_invoice, "payments.authorize", auth=auth, on_pending=human())

    assert call(tool_function, amount=42) == "paid 42"
    assert calls == [42]


def test_hook_refuses_a_denied_call_and_passes_other_tools(auth, human):
    calls: list[str] = []

    def pay_invoice(amount: int) -> str:
        """Pay an invoice of the given amount."""
        calls.append("pay")
        return "paid"

    def lookup(q: str) -> str:
        """Look something up."""
        calls.append("lookup")
        return "found"

    hook = jitgate_hook(
        {"pay_invoice": Gate("payments.authorize", jit=True, on_pending=human(deny=True))},
        auth=auth,
    )
    pay = Function.from_callable(pay_invoice)
    pay.tool_hooks = [hook]
    other = Function.from_callable(lookup)
    other.tool_hooks = [hook]

    assert str(call(pay, amount=1)).startswith("Refused: payments.authorize")
    assert call(other, q="x") == "found"
    assert calls == ["lookup"]

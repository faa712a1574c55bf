"""Google ADK: a before_tool_callback that obtains jitgate approval for gated tools."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

try:
    from google.adk.tools.base_tool import BaseTool
    from google.adk.tools.tool_context import ToolContext
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("install the ADK extra: pip install 'jitgate[adk]'") from exc

from jitgate.errors import JitgateError
from jitgate.guard import AnyAuth, Gate, Refusal, async_client

BeforeToolCallback = Callable[
    [BaseTool, dict[str, Any], ToolContext], Awaitable[dict[str, Any] | None]
]


def before_tool_callback(
    gates: Mapping[str, Gate | str], *, auth: AnyAuth | None = None
) -> BeforeToolCallback:
    """LlmAgent(before_tool_callback=...): gated tools wait for approval, others pass.

    Returning None lets ADK run the tool (its single-use token already redeemed); returning a
    dict skips the tool and hands the refusal to the model as the tool's response.
    """
    resolved = {n: g if isinstance(g, Gate) else Gate(g, jit=True) for n, g in gates.items()}

    async def callback(
        tool: BaseTool, args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        gate = resolved.get(tool.name)
        if gate is None:
            return None
        client = async_client(auth)
        call_id = getattr(tool_context, "function_call_id", None)
        key = f"adk:{tool_context.invocation_id}:{call_id}" if call_id else None
        try:
            token = await gate.authorize_async(client, dict(args), tool.name, key)
            if token:
                await client.consume_jit_token(
                    token, gate.permission, gate.operation_for(dict(args), tool.name)
                )
        except JitgateError as error:
            refusal = Refusal.from_error(gate.permission, error)
            return {"status": "refused", "error": str(refusal), "code": refusal.code}
        return None

    return callback

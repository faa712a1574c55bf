"""Agno: a tool hook that obtains jitgate approval (blocking) before a gated tool runs."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

try:
    from agno.tools import tool as agno_tool
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("install the Agno extra: pip install 'jitgate[agno]'") from exc

from jitgate._protocol import Approval
from jitgate.errors import JitgateError
from jitgate.guard import AnyAuth, Gate, Refusal, async_client, sync_client


def jitgate_hook(
    gates: Mapping[str, Gate | str], *, auth: AnyAuth | None = None
) -> Callable[..., Any]:
    """A tool hook (Agent(tool_hooks=[...]) or @tool(tool_hooks=[...])) gating tools by name.

    The tool runs only after approval, with its single-use token redeemed first; a refusal is
    returned to the model as the tool's result.
    """
    resolved = {n: g if isinstance(g, Gate) else Gate(g, jit=True) for n, g in gates.items()}

    def hook(
        function_name: str, function_call: Callable[..., Any], arguments: dict[str, Any]
    ) -> Any:
        gate = resolved.get(function_name)
        if gate is None:
            return function_call(**arguments)
        if inspect.iscoroutinefunction(function_call):
            return _async_call(gate, auth, function_name, function_call, arguments)
        client = sync_client(auth)
        try:
            token = gate.authorize_sync(client, arguments, function_name)
            if token:
                op = gate.operation_for(arguments, function_name)
                client.consume_jit_token(token, gate.permission, op)
        except JitgateError as error:
            return str(Refusal.from_error(gate.permission, error))
        return function_call(**arguments)

    return hook


async def _async_call(
    gate: Gate,
    auth: AnyAuth | None,
    name: str,
    function_call: Callable[..., Any],
    arguments: dict[str, Any],
) -> Any:
    client = async_client(auth)
    try:
        token = await gate.authorize_async(client, arguments, name)
        if token:
            await client.consume_jit_token(
                token, gate.permission, gate.operation_for(arguments, name)
            )
    except JitgateError as error:
        return str(Refusal.from_error(gate.permission, error))
    return await function_call(**arguments)


def gated_tool(
    func: Callable[..., Any],
    permission: str,
    *,
    auth: AnyAuth | None = None,
    jit: bool = True,
    justification: str | Callable[..., str] | None = None,
    operation: dict[str, Any] | Callable[..., dict[str, Any]] | None = None,
    expires_in: str | int = "10m",
    timeout: float = 300,
    on_pending: Callable[[Approval], Any] | None = None,
) -> Any:
    """An Agno tool (agno.tools.tool) whose calls wait for jitgate approval and run once."""
    gate = Gate(permission, jit, justification, operation, expires_in, timeout, on_pending)
    return agno_tool(tool_hooks=[jitgate_hook({func.__name__: gate}, auth=auth)])(func)

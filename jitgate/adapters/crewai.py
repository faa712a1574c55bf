"""CrewAI: a gated tool, or a pre-tool-call hook that gates tools by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

try:
    from crewai.tools import BaseTool
    from crewai.tools import tool as crewai_tool
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("install the CrewAI extra: pip install 'jitgate[crewai]'") from exc

from jitgate._protocol import Approval
from jitgate.errors import JitgateError
from jitgate.guard import AnyAuth, Gate, Refusal, sync_client


class JitgateCrewTool(BaseTool):
    """A CrewAI tool that obtains jitgate approval (blocking) before the wrapped tool runs."""

    inner: Any
    gate: Any
    auth: Any = None

    def _run(self, *args: Any, **arguments: Any) -> Any:
        refusal = authorize(self.gate, self.auth, self.name, arguments)
        if refusal is not None:
            return str(refusal)
        return self.inner.run(*args, **arguments)


def authorize(
    gate: Gate, auth: AnyAuth | None, name: str, arguments: dict[str, Any]
) -> Refusal | None:
    """Obtain approval and redeem the JIT token for this call; a Refusal says why not."""
    client = sync_client(auth)
    try:
        token = gate.authorize_sync(client, arguments, name)
        if token:
            client.consume_jit_token(token, gate.permission, gate.operation_for(arguments, name))
    except JitgateError as error:
        return Refusal.from_error(gate.permission, error)
    return None


def gated_tool(
    tool: BaseTool | Callable[..., Any],
    permission: str,
    *,
    auth: AnyAuth | None = None,
    jit: bool = True,
    justification: str | Callable[..., str] | None = None,
    operation: dict[str, Any] | Callable[..., dict[str, Any]] | None = None,
    expires_in: str | int = "10m",
    timeout: float = 300,
    on_pending: Callable[[Approval], Any] | None = None,
) -> JitgateCrewTool:
    """Gate a CrewAI tool (or a plain function with a docstring) behind a jitgate permission."""
    inner = tool if isinstance(tool, BaseTool) else crewai_tool(tool)
    gate = Gate(permission, jit, justification, operation, expires_in, timeout, on_pending)
    return JitgateCrewTool(
        name=inner.name,
        description=inner.description,
        args_schema=inner.args_schema,
        inner=inner,
        gate=gate,
        auth=auth,
    )


def before_tool_call_hook(
    gates: Mapping[str, Gate | str], *, auth: AnyAuth | None = None
) -> Callable[[Any], bool | None]:
    """A hook for crewai.hooks.register_before_tool_call_hook: gates the named tools.

    A string value means a JIT permission with default settings. Returning False blocks the
    call, which CrewAI reports to the agent; the reason is printed with the tool input.
    """
    resolved = {name: g if isinstance(g, Gate) else Gate(g, jit=True) for name, g in gates.items()}

    def hook(context: Any) -> bool | None:
        gate = resolved.get(context.tool_name)
        if gate is None:
            return None
        refusal = authorize(gate, auth, context.tool_name, dict(context.tool_input))
        if refusal is not None:
            context.tool_input["jitgate_refusal"] = str(refusal)
            return False
        return None

    return hook

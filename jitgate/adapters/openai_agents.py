"""OpenAI Agents SDK: `needs_approval` driven by jitgate, and a helper that resumes the run."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

try:
    from agents import FunctionTool, RunResult, RunState, function_tool
    from agents.tool_context import ToolContext
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "install the OpenAI Agents extra: pip install 'jitgate[openai-agents]'"
    ) from exc

from jitgate._protocol import Approval
from jitgate.adapters._delegation import UserToken, acting_for, user_token_for
from jitgate.errors import JitgateError
from jitgate.guard import AnyAuth, Gate, Refusal, async_client

GATE_ATTR = "_jitgate_gate"
USER_TOKEN_ATTR = "_jitgate_user_token"


def _key(call_id: str) -> str:
    return f"oa:{call_id}"


def gated_tool(
    func: Callable[..., Any] | FunctionTool,
    permission: str,
    *,
    auth: AnyAuth | None = None,
    justification: str | Callable[..., str] | None = None,
    operation: dict[str, Any] | Callable[..., dict[str, Any]] | None = None,
    expires_in: str | int = "10m",
    timeout: float = 300,
    on_pending: Callable[[Approval], Any] | None = None,
    user_token: UserToken = None,
) -> FunctionTool:
    """A function tool whose calls pause the run (needs_approval) until a jitgate approver decides.

    needs_approval files the JIT request, keyed on the tool call id; `resolve_approvals` waits
    for the decisions and approves or rejects the interruptions; the tool body then redeems
    the single-use token, so an approved call runs exactly once.

    `user_token` makes each call on behalf of the end user: their token (a string), or a
    function of the run's context wrapper returning it, e.g. `lambda ctx: ctx.context.user_token`
    for `Runner.run(agent, input, context=...)` (None: the agent acts as itself).
    """
    base = func if isinstance(func, FunctionTool) else function_tool(func)
    gate = Gate(permission, True, justification, operation, expires_in, timeout, on_pending)

    async def needs_approval(ctx: Any, params: dict[str, Any], call_id: str) -> bool:
        async with acting_for(auth, user_token_for(user_token, ctx)) as client:
            approval = await _request(gate, client, base.name, params, call_id, wait=False)
        return not approval.granted

    async def on_invoke(ctx: ToolContext[Any], input_json: str) -> Any:
        arguments = json.loads(input_json or "{}")
        try:
            async with acting_for(auth, user_token_for(user_token, ctx)) as client:
                approval = await _request(
                    gate, client, base.name, arguments, ctx.tool_call_id, wait=True
                )
                token = approval.raise_for_status().token or ""
                await client.consume_jit_token(
                    token, permission, gate.operation_for(arguments, base.name)
                )
        except JitgateError as error:
            return str(Refusal.from_error(permission, error))
        return await base.on_invoke_tool(ctx, input_json)

    tool = dataclasses.replace(base, on_invoke_tool=on_invoke, needs_approval=needs_approval)
    setattr(tool, GATE_ATTR, gate)
    setattr(tool, USER_TOKEN_ATTR, user_token)
    return tool


async def _request(
    gate: Gate,
    client: Any,
    name: str,
    arguments: dict[str, Any],
    call_id: str,
    *,
    wait: bool,
) -> Approval:
    return await client.request_jit_permission(
        gate.permission,
        gate.justification_for(arguments, name),
        gate.expires_in,
        gate.operation_for(arguments, name),
        wait=wait,
        timeout=gate.timeout,
        idempotency_key=_key(call_id),
        on_pending=gate.on_pending,
    )


async def resolve_approvals(
    result: RunResult, tools: list[FunctionTool], *, auth: AnyAuth | None = None
) -> RunState:
    """Wait for jitgate's decision on each interrupted gated call; approve or reject it.

    Returns the RunState to pass back to `Runner.run(agent, state)`.
    """
    state = result.to_state()
    gated = {t.name: t for t in tools if hasattr(t, GATE_ATTR)}
    for item in result.interruptions:
        tool = gated.get(item.tool_name or "")
        if tool is None:
            continue
        gate: Gate = getattr(tool, GATE_ATTR)
        raw = item.raw_item
        call_id = str(raw.get("call_id") if isinstance(raw, dict) else raw.call_id)
        args_json = raw.get("arguments") if isinstance(raw, dict) else raw.arguments
        arguments = json.loads(args_json or "{}")
        # The same user as the paused call's (the run's context), so it is the same request.
        token = user_token_for(getattr(tool, USER_TOKEN_ATTR, None), result.context_wrapper)
        async with acting_for(auth, token) as client:
            approval = await _request(gate, client, tool.name, arguments, call_id, wait=True)
        if approval.granted:
            state.approve(item)
        else:
            refusal = Refusal(
                gate.permission,
                approval.status,
                approval.reason or approval.status,
                approval.request_id,
            )
            state.reject(item, rejection_message=str(refusal))
    return state


def mcp_server(
    url: str,
    *,
    auth: AnyAuth | None = None,
    name: str | None = None,
    capabilities: list[str] | None = None,
    **options: Any,
) -> Any:
    """An Agents SDK `MCPServerStreamableHttp` for a jitgate-protected MCP server: the agent's
    token for that server is found by discovery (jitgate.mcp.client_auth).

        async with mcp_server(url, auth=auth) as server:
            agent = Agent(name="payer", mcp_servers=[server], ...)
    """
    from agents.mcp import MCPServerStreamableHttp

    from jitgate.mcp.client_auth import auth_for_installed_mcp

    agent = async_client(auth)
    params = {"url": url, "auth": auth_for_installed_mcp(agent, capabilities=capabilities)}
    return MCPServerStreamableHttp(params=params, name=name or url, **options)  # type: ignore[arg-type]

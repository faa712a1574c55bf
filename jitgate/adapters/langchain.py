"""LangChain / LangGraph: a jitgate-gated tool, blocking or through LangGraph's interrupt()."""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Callable
from typing import Any

try:
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import BaseTool, StructuredTool
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("install the LangChain extra: pip install 'jitgate[langchain]'") from exc

from jitgate._protocol import Approval
from jitgate.adapters._delegation import UserToken, acting_for, acting_for_sync, user_token_for
from jitgate.errors import JitgateError
from jitgate.guard import AnyAuth, Gate, Refusal, async_client

INTERRUPT_TYPE = "jitgate_approval"
_tool_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jitgate_tool_call_id", default=None
)


class JitgateTool(BaseTool):
    """Wraps a tool so each call is approved by jitgate before it runs, exactly once.

    With use_interrupt=True (inside a LangGraph graph with a checkpointer) a pending approval
    pauses the graph with interrupt(); the JIT request is keyed on the thread and tool call,
    so resuming finds the same request instead of asking again.

    With a user_token the call is made for that user (delegated tokens, `AgentAuth.for_user`).
    """

    inner: BaseTool
    gate: Any
    auth: Any = None
    user_token: Any = None  # UserToken: a string, or a function of the RunnableConfig
    use_interrupt: bool = False
    refusal_as_result: bool = True

    def run(self, *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        reset = _tool_call_id.set(tool_call_id)
        try:
            return super().run(*args, tool_call_id=tool_call_id, **kwargs)
        finally:
            _tool_call_id.reset(reset)

    async def arun(self, *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        reset = _tool_call_id.set(tool_call_id)
        try:
            return await super().arun(*args, tool_call_id=tool_call_id, **kwargs)
        finally:
            _tool_call_id.reset(reset)

    def _run(self, config: RunnableConfig, **arguments: Any) -> Any:
        gate: Gate = self.gate
        try:
            with acting_for_sync(self.auth, user_token_for(self.user_token, config)) as client:
                if self.use_interrupt and gate.jit:
                    token = self._approve_with_interrupt(client, arguments, config)
                else:
                    token = gate.authorize_sync(client, arguments, self.name)
                if token:
                    client.consume_jit_token(
                        token, gate.permission, gate.operation_for(arguments, self.name)
                    )
        except JitgateError as error:
            return self._refuse(error)
        return self.inner.invoke(arguments, config)

    async def _arun(self, config: RunnableConfig, **arguments: Any) -> Any:
        gate: Gate = self.gate
        try:
            async with acting_for(self.auth, user_token_for(self.user_token, config)) as client:
                if self.use_interrupt and gate.jit:
                    token = await self._aapprove_with_interrupt(client, arguments, config)
                else:
                    token = await gate.authorize_async(client, arguments, self.name)
                if token:
                    op = gate.operation_for(arguments, self.name)
                    await client.consume_jit_token(token, gate.permission, op)
        except JitgateError as error:
            return self._refuse(error)
        return await self.inner.ainvoke(arguments, config)

    def _refuse(self, error: JitgateError) -> str:
        if not self.refusal_as_result:
            raise error
        return str(Refusal.from_error(self.gate.permission, error))

    def _request(self, arguments: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        gate: Gate = self.gate
        return {
            "permission": gate.permission,
            "justification": gate.justification_for(arguments, self.name),
            "expires_in": gate.expires_in,
            "operation": gate.operation_for(arguments, self.name),
            "idempotency_key": idempotency_key(config, self.name, arguments),
        }

    def _approve_with_interrupt(
        self, client: Any, arguments: dict[str, Any], config: RunnableConfig
    ) -> str | None:
        from langgraph.types import interrupt

        approval: Approval = client.request_jit_permission(
            **self._request(arguments, config), wait=False
        )
        if approval.pending:
            interrupt(interrupt_payload(approval, self.name))
            # Resumed: the decision is read from jitgate, never taken from the resume value.
            approval = client.wait_for_approval(approval.request_id, timeout=self.gate.timeout)
        return approval.raise_for_status().token

    async def _aapprove_with_interrupt(
        self, client: Any, arguments: dict[str, Any], config: RunnableConfig
    ) -> str | None:
        from langgraph.types import interrupt

        approval: Approval = await client.request_jit_permission(
            **self._request(arguments, config), wait=False
        )
        if approval.pending:
            interrupt(interrupt_payload(approval, self.name))
            approval = await client.wait_for_approval(
                approval.request_id, timeout=self.gate.timeout
            )
        return approval.raise_for_status().token


def interrupt_payload(approval: Approval, tool: str) -> dict[str, Any]:
    return {
        "type": INTERRUPT_TYPE,
        "tool": tool,
        "request_id": approval.request_id,
        "permission": approval.permission,
        "operation": approval.operation,
        "status_url": approval.status_url,
    }


def idempotency_key(config: RunnableConfig, tool: str, arguments: dict[str, Any]) -> str:
    """The thread and tool call identify one approval; a replayed node finds the same one."""
    thread = str((config.get("configurable") or {}).get("thread_id") or "")
    call = _tool_call_id.get()
    if not call:
        digest = hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode())
        call = f"{tool}:{digest.hexdigest()[:32]}"
    return f"lg:{thread}:{call}"[:200]


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
    use_interrupt: bool = False,
    refusal_as_result: bool = True,
    on_pending: Callable[[Approval], Any] | None = None,
    user_token: UserToken = None,
) -> JitgateTool:
    """Gate a LangChain tool (or a plain function, turned into one) behind a jitgate permission.

    `user_token` makes each call on behalf of the end user: their token (a string), or a
    function of the run's RunnableConfig returning it, e.g.
    `lambda config: config["configurable"]["user_token"]` (None: the agent acts as itself).
    """
    inner = tool if isinstance(tool, BaseTool) else StructuredTool.from_function(tool)
    gate = Gate(permission, jit, justification, operation, expires_in, timeout, on_pending)
    return JitgateTool(
        name=inner.name,
        description=inner.description,
        args_schema=inner.args_schema,
        inner=inner,
        gate=gate,
        auth=auth,
        use_interrupt=use_interrupt,
        refusal_as_result=refusal_as_result,
        user_token=user_token,
    )


def pending_approvals(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The jitgate approvals a paused graph is waiting for (from `graph.invoke(...)`)."""
    return [value for _, value in _jitgate_interrupts(result)]


def _jitgate_interrupts(result: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    found = []
    for item in result.get("__interrupt__", []) or []:
        value = getattr(item, "value", item)
        if isinstance(value, dict) and value.get("type") == INTERRUPT_TYPE:
            found.append((getattr(item, "id", None), value))
    return found


def wait_and_resume(
    graph: Any,
    config: RunnableConfig,
    result: dict[str, Any],
    *,
    auth: AnyAuth | None = None,
    timeout: float = 300,
    user_token: UserToken = None,
) -> dict[str, Any]:
    """Block until every pending approval is decided, then resume the graph with the outcomes.

    Pass the tools' `user_token` too when they act for a user: their requests are read as
    that user's agent."""
    from langgraph.types import Command

    while interrupts := _jitgate_interrupts(result):
        resume: dict[str, Any] = {}
        with acting_for_sync(auth, user_token_for(user_token, config)) as client:
            for interrupt_id, pending in interrupts:
                decided = client.wait_for_approval(pending["request_id"], timeout=timeout)
                resume[interrupt_id or pending["request_id"]] = decided.status
        value = resume if len(resume) > 1 else next(iter(resume.values()))
        result = graph.invoke(Command(resume=value), config)
    return result


def mcp_connection(
    url: str, *, auth: AnyAuth | None = None, capabilities: list[str] | None = None
) -> dict[str, Any]:
    """A langchain-mcp-adapters connection to a jitgate-protected MCP server (streamable HTTP):
    the agent's token for that server is found by discovery (jitgate.mcp.client_auth).

        client = MultiServerMCPClient({"payments": mcp_connection(url, auth=auth)})
        tools = await client.get_tools()
    """
    from jitgate.mcp.client_auth import auth_for_installed_mcp

    agent = async_client(auth)
    return {
        "transport": "streamable_http",
        "url": url,
        "auth": auth_for_installed_mcp(agent, capabilities=capabilities),
    }

"""@requires: a guard for sync and async functions that checks, or obtains, approval first."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from jitgate._protocol import Approval
from jitgate._sync import SyncAgentAuth
from jitgate.client import AgentAuth
from jitgate.errors import JitgateError, PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])
AnyAuth = AgentAuth | SyncAgentAuth
Operation = dict[str, Any] | Callable[..., dict[str, Any]] | None

_default_auth: AnyAuth | None = None


def configure(auth: AnyAuth | None) -> None:
    """Set the client that guards without an explicit `auth=` use (else AgentAuth.from_env())."""
    global _default_auth
    _default_auth = auth


def _resolve(auth: AnyAuth | None) -> AnyAuth:
    global _default_auth
    if auth is not None:
        return auth
    if _default_auth is None:
        _default_auth = AgentAuth.from_env()  # once, so its token cache is shared
    return _default_auth


def sync_client(auth: AnyAuth | None) -> SyncAgentAuth:
    auth = _resolve(auth)
    return auth.sync if isinstance(auth, AgentAuth) else auth


def async_client(auth: AnyAuth | None) -> AgentAuth:
    auth = _resolve(auth)
    if isinstance(auth, SyncAgentAuth):
        twin = getattr(auth, "_async_twin", None)
        if twin is None:
            twin = AgentAuth.from_credentials(auth.credentials)
            auth._async_twin = twin  # type: ignore[attr-defined]
        return twin
    return auth


@dataclass(frozen=True)
class Refusal:
    """What a guarded function returns instead of running, with on_refusal="return"."""

    permission: str
    code: str
    reason: str
    request_id: str | None = None

    @classmethod
    def from_error(cls, permission: str, error: JitgateError) -> Refusal:
        return cls(permission, error.code, error.description, error.request_id)

    def __str__(self) -> str:
        suffix = f" (JIT request {self.request_id})" if self.request_id else ""
        return f"Refused: {self.permission} was not granted: {self.code}: {self.reason}{suffix}"


@dataclass(frozen=True)
class Gate:
    """How one permission is granted to a call; shared by @requires and the adapters."""

    permission: str
    jit: bool = False
    justification: str | Callable[..., str] | None = None
    operation: Operation = None
    expires_in: str | int = "10m"
    timeout: float = 300
    on_pending: Callable[[Approval], Any] | None = None

    def operation_for(self, arguments: dict[str, Any], name: str = "") -> dict[str, Any]:
        if callable(self.operation):
            return self.operation(**arguments)
        if self.operation is not None:
            return self.operation
        # Default: bind the approval to this exact call so it cannot be reused for another.
        return {"tool": name, "arguments": json.loads(json.dumps(arguments, default=str))}

    def justification_for(self, arguments: dict[str, Any], name: str = "") -> str:
        if callable(self.justification):
            return self.justification(**arguments)
        return self.justification or f"The agent wants to run {name or self.permission}."

    def authorize_sync(
        self,
        client: SyncAgentAuth,
        arguments: dict[str, Any],
        name: str = "",
        idempotency_key: str | None = None,
    ) -> str | None:
        """Return the JIT token (None for a standing permission) or raise the refusal."""
        if not self.jit:
            _check_allowed(self.permission, client.check(self.permission))
            return None
        approval = client.request_jit_permission(
            self.permission,
            self.justification_for(arguments, name),
            self.expires_in,
            self.operation_for(arguments, name),
            timeout=self.timeout,
            idempotency_key=idempotency_key,
            on_pending=self.on_pending,
        )
        return approval.raise_for_status().token

    async def authorize_async(
        self,
        client: AgentAuth,
        arguments: dict[str, Any],
        name: str = "",
        idempotency_key: str | None = None,
    ) -> str | None:
        if not self.jit:
            _check_allowed(self.permission, await client.check(self.permission))
            return None
        approval = await client.request_jit_permission(
            self.permission,
            self.justification_for(arguments, name),
            self.expires_in,
            self.operation_for(arguments, name),
            timeout=self.timeout,
            idempotency_key=idempotency_key,
            on_pending=self.on_pending,
        )
        return approval.raise_for_status().token


def _check_allowed(permission: str, decision: dict[str, Any]) -> None:
    if decision.get("allowed"):
        return
    reason = str(decision.get("reason") or "not allowed")
    if decision.get("jit_required"):
        reason += " (this permission needs just-in-time approval: use jit=True)"
    raise PermissionDenied(reason, code="permission_denied")


def requires(
    permission: str,
    *,
    jit: bool = False,
    justification: str | Callable[..., str] | None = None,
    operation: Operation = None,
    expires_in: str | int = "10m",
    timeout: float = 300,
    auth: AnyAuth | None = None,
    token_param: str = "jit_token",  # noqa: S107 - a parameter name, not a secret
    consume: bool | None = None,
    on_refusal: Literal["raise", "return"] = "raise",
    on_pending: Callable[[Approval], Any] | None = None,
) -> Callable[[F], F]:
    """Guard a function with a jitgate permission.

    With jit=True each call asks a human (blocking until decided). If the function has a
    `token_param` parameter it receives the single-use JIT token to hand to the resource
    server; otherwise the guard redeems the token itself before the function runs.
    """
    gate = Gate(permission, jit, justification, operation, expires_in, timeout, on_pending)

    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        takes_token = token_param in signature.parameters
        redeem = (not takes_token) if consume is None else consume

        def arguments_of(args: tuple, kwargs: dict) -> dict[str, Any]:
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            return {
                k: v for k, v in bound.arguments.items() if k not in (token_param, "self", "cls")
            }

        def refuse(error: JitgateError) -> Any:
            if on_refusal == "return":
                return Refusal.from_error(permission, error)
            raise error

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                client = async_client(auth)
                arguments = arguments_of(args, kwargs)
                try:
                    token = await gate.authorize_async(client, arguments, func.__name__)
                    if token and redeem:
                        op = gate.operation_for(arguments, func.__name__)
                        await client.consume_jit_token(token, permission, op)
                except JitgateError as error:
                    return refuse(error)
                if takes_token:
                    kwargs[token_param] = token
                return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            client = sync_client(auth)
            arguments = arguments_of(args, kwargs)
            try:
                token = gate.authorize_sync(client, arguments, func.__name__)
                if token and redeem:
                    client.consume_jit_token(
                        token, permission, gate.operation_for(arguments, func.__name__)
                    )
            except JitgateError as error:
                return refuse(error)
            if takes_token:
                kwargs[token_param] = token
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

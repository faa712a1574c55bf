"""Typed SDK errors, each carrying the server's OAuth-style error code and HTTP status."""

from __future__ import annotations

from typing import Any

import httpx


class JitgateError(Exception):
    """Base for every refusal or failure the SDK reports."""

    code: str = "error"

    def __init__(
        self,
        description: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        if code is not None:
            self.code = code
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class AuthenticationFailed(JitgateError):
    """The server did not accept the agent's key, assertion or bearer token (401)."""

    code = "invalid_client"


class InvalidGrant(JitgateError):
    code = "invalid_grant"


class InvalidScope(JitgateError):
    code = "invalid_scope"


class InvalidRequest(JitgateError):
    code = "invalid_request"


class Forbidden(JitgateError):
    code = "forbidden"


class NotEligible(Forbidden):
    """The permission is not among the agent's capabilities, or its policy is deny."""

    code = "not_eligible"


class NotFound(JitgateError):
    code = "not_found"


class Conflict(JitgateError):
    code = "conflict"


class TokenAlreadyUsed(Conflict):
    code = "token_already_used"


class OperationMismatch(Forbidden):
    code = "operation_mismatch"


class TokenExpired(AuthenticationFailed):
    code = "token_expired"


class TokenRevoked(AuthenticationFailed):
    code = "token_revoked"


class RateLimited(JitgateError):
    """Over a rate limit or budget (429); `retry_after` is the server's Retry-After in seconds,
    or None when it sent none."""

    code = "rate_limited"
    retry_after: float | None = None


class ServerError(JitgateError):
    code = "server_error"


class PermissionDenied(JitgateError):
    """A decision (check or ask) said no."""

    code = "permission_denied"


class JitRefused(JitgateError):
    """A JIT request ended without a usable token."""

    code = "jit_refused"


class JitDenied(JitRefused):
    code = "denied"


class JitExpired(JitRefused):
    """Nobody decided before the pending deadline, or the granted token ran out."""

    code = "expired"


class JitCancelled(JitRefused):
    code = "cancelled"


class JitRevoked(JitRefused):
    code = "revoked"


class JitTimeout(JitRefused):
    """The SDK stopped waiting; the request is still pending and can be resumed."""

    code = "timeout"


_BY_CODE: dict[str, type[JitgateError]] = {
    "invalid_client": AuthenticationFailed,
    "invalid_token": AuthenticationFailed,
    "invalid_grant": InvalidGrant,
    "invalid_scope": InvalidScope,
    "invalid_request": InvalidRequest,
    "unsupported_grant_type": InvalidRequest,
    "not_eligible": NotEligible,
    "forbidden": Forbidden,
    "insufficient_scope": Forbidden,
    "not_found": NotFound,
    "conflict": Conflict,
    "invalid_transition": Conflict,
    "token_already_used": TokenAlreadyUsed,
    "operation_mismatch": OperationMismatch,
    "token_expired": TokenExpired,
    "token_revoked": TokenRevoked,
    "rate_limited": RateLimited,
}

_BY_STATUS: dict[int, type[JitgateError]] = {
    401: AuthenticationFailed,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}

_BY_JIT_STATUS: dict[str, type[JitRefused]] = {
    "denied": JitDenied,
    "expired": JitExpired,
    "token_expired": JitExpired,
    "cancelled": JitCancelled,
    "revoked": JitRevoked,
    "consumed": JitRefused,
}


def error_from_response(response: httpx.Response) -> JitgateError:
    """Map a non-2xx response to the matching typed error."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code = body.get("error") if isinstance(body, dict) else None
    if not isinstance(code, str):
        code = None
    description = body.get("error_description") if isinstance(body, dict) else None
    if not isinstance(description, str):
        description = (response.text or response.reason_phrase)[:300]
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else InvalidRequest
    error = cls(description, code=code or cls.code, status=response.status_code)
    if isinstance(error, RateLimited):
        error.retry_after = _retry_after(response.headers.get("retry-after"))
    return error


def _retry_after(value: str | None) -> float | None:
    """Delay-seconds only (RFC 9110 §10.2.3); an HTTP date or garbage tells us nothing."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None


def jit_error(status: str, reason: str | None, request_id: str) -> JitRefused:
    cls = _BY_JIT_STATUS.get(status, JitRefused)
    text = reason or f"JIT request {request_id} is {status}"
    return cls(text, code=status, request_id=request_id)

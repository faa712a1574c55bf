"""Domain errors. Each carries its OAuth-style code and HTTP status once; one handler renders them."""

from typing import ClassVar


class JitgateError(Exception):
    """Base for every refusal the service explains to its caller. A subclass names its status
    and code in its class line (`class NotFound(JitgateError, status=404, code="not_found")`);
    one it leaves out is its base's."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, description: str, *, code: str | None = None, status: int | None = None):
        super().__init__(description)
        self.description = description
        if code is not None:
            self.code = code  # type: ignore[misc]
        if status is not None:
            self.status = status  # type: ignore[misc]

    @property
    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(JitgateError, status=400, code="invalid_request"): ...


class Unauthenticated(JitgateError, status=401, code="invalid_token"):
    @property
    def headers(self) -> dict[str, str]:
        # The description may quote what the caller sent: keep the header printable ASCII.
        safe = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in self.description)
        return {"WWW-Authenticate": f'Bearer error="{self.code}", error_description="{safe}"'}


class InvalidClient(Unauthenticated, code="invalid_client"): ...


class InvalidGrant(JitgateError, status=400, code="invalid_grant"): ...


class InvalidScope(JitgateError, status=400, code="invalid_scope"): ...


class UnsupportedGrantType(JitgateError, status=400, code="unsupported_grant_type"): ...


class Forbidden(JitgateError, status=403, code="forbidden"): ...


class NotEligible(Forbidden, code="not_eligible"): ...


class NotFound(JitgateError, status=404, code="not_found"): ...


class Conflict(JitgateError, status=409, code="conflict"): ...


class InvalidTransition(Conflict, code="invalid_transition"): ...


class UnsupportedMediaType(JitgateError, status=415, code="invalid_request"): ...


class RuleViolation(JitgateError, status=422, code="invalid_request"):
    """A well-formed body that breaks a rule (422)."""


class TokenAlreadyUsed(Conflict, code="token_already_used"): ...


class OperationMismatch(Forbidden, code="operation_mismatch"): ...


class AudienceMismatch(Forbidden, code="invalid_target"):
    """RFC 8707: the token is bound to another resource server than the one redeeming it."""


class TokenExpired(Unauthenticated, code="token_expired"): ...


class TokenRevoked(Unauthenticated, code="token_revoked"): ...


class RetryLater(JitgateError):
    """A refusal that passes: the answer says when to ask again (`Retry-After`, whole seconds,
    at least 1)."""

    def __init__(self, description: str, *, retry_after: int = 1) -> None:
        super().__init__(description)
        self.retry_after = max(1, retry_after)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimited(RetryLater, status=429, code="rate_limited"):
    """Over a rate limit or budget."""


class TemporarilyUnavailable(RetryLater, status=503, code="temporarily_unavailable"):
    """The service cannot answer this now, through no fault of the caller."""


def error_body(code: str, description: str) -> dict[str, str]:
    return {"error": code, "error_description": description}

"""Bodies of the JIT API: a request, a decision, a redemption."""

from typing import Any

from pydantic import Field

from app.http.body import Body


class JitRequestIn(Body):
    permission: str = Field(max_length=200)
    justification: str = Field(default="", max_length=2000)
    expires_in: str | int = "10m"
    operation: dict[str, Any] | None = None
    callback_url: str | None = Field(default=None, max_length=2048)
    idempotency_key: str | None = Field(default=None, max_length=200)
    # RFC 8707: the server the JIT token will be presented to (its aud). The length is checked
    # by the rule, so an overlong URI is invalid_target like any other bad one.
    resource: str | None = None


class DecisionIn(Body):
    comment: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)


class ConsumeIn(Body):
    token: str = Field(max_length=8192)
    permission: str = Field(max_length=200)
    operation: dict[str, Any] | None = None
    # The redeeming server's own URI: a token bound to another audience is refused, unused.
    resource: str | None = Field(default=None, max_length=2048)

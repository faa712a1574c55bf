"""Request and response bodies of the HTTP API (pydantic); the services validate the rules."""

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.times import UtcDatetime

# A JSON string may spell half a UTF-16 pair ("\\udfff"). Python's parser accepts it, but the
# text can never be encoded as UTF-8 (hashes, the database, Slack, email), so it is refused here,
# for every body, before any service sees it. pydantic's own `str` fields already refuse it;
# free-form objects (operation, context) do not.
# Lone surrogates have no UTF-8 form; NUL is refused by PostgreSQL text columns (a 500 there).
_SURROGATE = re.compile("[\ud800-\udfff\x00]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text_at(value: Any, pattern: re.Pattern[str] = _SURROGATE) -> str | None:
    """Where (a dotted path) a string of a parsed JSON value, key or item, holds a lone
    surrogate or a NUL; None when every string can be stored and shown."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:  # a loop, not recursion: a deeply nested body must not overflow the stack
        path, item = stack.pop()
        if isinstance(item, str):
            if pattern.search(item):
                return _SURROGATE.sub("?", path) or "body"  # the path may hold the culprit
        elif isinstance(item, dict):
            for key, child in item.items():
                here = f"{path}.{key}" if path else str(key)
                stack.append((here, key))
                stack.append((here, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


def has_lone_surrogate(value: Any) -> bool:
    return unstorable_text_at(value) is not None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Bodies whose text is stored refuse NUL too; a check or a question is only decided (its
    # audit event stores a cleaned copy), so NUL there is a denial, not an error.
    _unstorable: ClassVar[re.Pattern[str]] = _SURROGATE

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = unstorable_text_at(data, cls._unstorable)
        if where is not None:
            raise ValueError(
                f"{where}: text must be valid Unicode without NUL "
                "(a lone surrogate such as \\udfff is not)"
            )
        return data


class AgentRegister(Body):
    name: str = Field(max_length=200)
    capabilities: list[str] = Field(default_factory=list, max_length=200)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(default=None, max_length=2048)
    owner: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, max_length=2000)


class BudgetPatch(Body):
    """Per-agent overrides of the org-wide rate limits; null resets one to the default.
    Whole JSON numbers only (strict): "5", 2.5 and true are refused."""

    requests_per_minute: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    jit_requests_per_hour: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    max_pending_jit: int | None = Field(default=None, ge=1, le=10_000, strict=True)


class AgentPatch(Body):
    capabilities: list[str] | None = Field(default=None, max_length=200)
    status: str | None = None
    owner: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, max_length=2000)
    budget: BudgetPatch | None = None


class AgentJwks(Body):
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(default=None, max_length=2048)


class AgentPublic(BaseModel):
    agent_id: str
    name: str
    capabilities: list[str]
    status: str
    key_ids: list[str]
    jwks_uri: str | None
    owner: str | None
    description: str | None
    token_endpoint: str
    budget: dict[str, int]  # effective: the agent's overrides, else the org-wide defaults
    budget_overrides: dict[str, int]
    created_at: UtcDatetime


class CheckIn(Body):
    _unstorable: ClassVar[re.Pattern[str]] = _LONE_SURROGATE
    permission: str = Field(max_length=200)
    subject: str | None = Field(default=None, max_length=200)
    resource: str | None = Field(default=None, max_length=2048)
    context: dict[str, Any] | None = None
    operation: dict[str, Any] | None = None


class CheckBulkIn(Body):
    _unstorable: ClassVar[re.Pattern[str]] = _LONE_SURROGATE
    checks: list[CheckIn] = Field(max_length=100)


class AskIn(Body):
    _unstorable: ClassVar[re.Pattern[str]] = _LONE_SURROGATE
    question: str = Field(max_length=20000)
    context: dict[str, Any] | None = None


class PermissionIn(Body):
    permission: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    synonyms: list[str] = Field(default_factory=list, max_length=50)


class ApproverIn(Body):
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(default=None, max_length=64)
    groups: list[str] = Field(default_factory=list, max_length=50)


class ApproverPatch(Body):
    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(default=None, max_length=64)
    groups: list[str] | None = Field(default=None, max_length=50)
    status: str | None = Field(default=None, max_length=16)


class PolicyIn(Body):
    permission: str = Field(max_length=200)
    mode: str
    approvers: list[str] = Field(default_factory=list, max_length=50)
    groups: list[str] = Field(default_factory=list, max_length=50)
    approvals_required: int = 1
    max_token_ttl: str | int = 600
    pending_timeout: str | int = 900
    channels: list[str] | None = None
    slack_channel: str | None = Field(default=None, max_length=200)
    webhook_url: str | None = Field(default=None, max_length=2048)
    allow_self_approval: bool = False
    auto_approve: bool = False
    delegation: str = "allowed"  # allowed | required | forbidden (checked by the service)


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

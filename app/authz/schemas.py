"""Bodies of the decision API (check, ask), the catalog and policies."""

import re
from typing import Any, ClassVar

from pydantic import Field, create_model

from app.http.body import LONE_SURROGATE, Body
from notifiers import registry as notifier_registry


class CheckIn(Body):
    _unstorable: ClassVar[re.Pattern[str]] = LONE_SURROGATE
    permission: str = Field(max_length=200)
    subject: str | None = Field(default=None, max_length=200)
    resource: str | None = Field(default=None, max_length=2048)
    context: dict[str, Any] | None = None
    operation: dict[str, Any] | None = None


class CheckBulkIn(Body):
    _unstorable: ClassVar[re.Pattern[str]] = LONE_SURROGATE
    checks: list[CheckIn] = Field(max_length=100)


class AskIn(Body):
    _unstorable: ClassVar[re.Pattern[str]] = LONE_SURROGATE
    question: str = Field(max_length=20000)
    context: dict[str, Any] | None = None


class PermissionIn(Body):
    permission: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    synonyms: list[str] = Field(default_factory=list, max_length=50)


class _PolicyFields(Body):
    permission: str = Field(max_length=200)
    mode: str
    approvers: list[str] = Field(default_factory=list, max_length=50)
    groups: list[str] = Field(default_factory=list, max_length=50)
    approvals_required: int = 1
    max_token_ttl: str | int = 600
    pending_timeout: str | int = 900
    channels: list[str] | None = None
    allow_self_approval: bool = False
    auto_approve: bool = False
    delegation: str = "allowed"  # allowed | required | forbidden (checked by the service)


# The policy body: its own fields and every channel's settings (slack_channel, webhook_url, …),
# as the channel registry declares them, so a new channel's setting needs no edit here.
PolicyIn = create_model(  # type: ignore[call-overload]
    "PolicyIn", __base__=_PolicyFields, __module__=__name__, **notifier_registry.setting_fields()
)

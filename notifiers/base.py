"""The notifier interface: every approver channel announces a request and later shows its outcome."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Protocol, Self

from pydantic import BaseModel, ConfigDict


class NotifierUnavailable(Exception):
    """A transient failure (network, 5xx, rate limit): the task retries with backoff."""


class NotifierRejected(Exception):
    """A permanent failure (bad credentials, unknown channel): recorded, never retried."""


@dataclass(frozen=True)
class ApproverView:
    approver_id: str
    email: str
    name: str | None = None
    slack_user_id: str | None = None


@dataclass(frozen=True)
class DecisionView:
    approver_id: str
    approver_label: str
    decision: str  # approve | deny
    comment: str | None
    channel: str
    at: datetime


@dataclass(frozen=True)
class RequestView:
    """Everything a channel may show about one JIT request; plain data, no ORM objects."""

    request_id: str
    org_id: str
    agent_id: str
    agent_name: str
    agent_owner: str | None
    permission: str
    justification: str
    operation: dict[str, Any]
    requested_ttl: int
    granted_ttl: int
    status: str
    created_at: datetime
    pending_deadline: datetime
    approvals_required: int
    decisions: tuple[DecisionView, ...] = ()
    approvers: tuple[ApproverView, ...] = ()
    # The policy's settings per channel slug, as stored (each channel reads its own through
    # its ChannelSettings model: SlackSettings.of(request)).
    channel_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    decision_reason: str | None = None
    # RFC 8707: the one server the token will be good for (None: jitgate's own issuer audience).
    resource: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Asked with a delegated token (RFC 8693): the user, and the agents that acted for them
    # in order (the user's first agent first, the requesting agent last).
    on_behalf_of: str | None = None
    actor_names: tuple[str, ...] = ()

    @property
    def requester(self) -> str:
        """Who asks, as approvers read it: "planner-bot for alice@acme.com" for a delegation."""
        if self.on_behalf_of is None:
            return self.agent_name
        return f"{self.agent_name} for {self.on_behalf_of}"

    @property
    def chain(self) -> str | None:
        """The whole chain of a delegation with more than one agent: "alice → a → b"."""
        if self.on_behalf_of is None or len(self.actor_names) < 2:
            return None
        return " → ".join((self.on_behalf_of, *self.actor_names))


class FormField(NamedTuple):
    """How the admin portal shows one setting: its label, a placeholder, the input's type."""

    label: str
    placeholder: str = ""
    input_type: str = "text"


class ChannelSettings(BaseModel):
    """A channel's own settings in a policy (Slack's channel, the webhook's URL). Its fields are
    fields of the policy body (so their names are unique across channels) and are stored per
    slug in policy.channel_settings; the registry validates and shows them (notifiers/registry.py).
    A channel with no setting of its own keeps this empty model."""

    model_config = ConfigDict(extra="forbid")
    slug: ClassVar[str] = ""
    form: ClassVar[dict[str, FormField]] = {}  # per field, for the admin portal

    def checked(self) -> Self:
        """Rules beyond the types (a URL the service will call): raise RuleViolation, 422."""
        return self

    @classmethod
    def of(cls, request: "RequestView") -> Self:
        return cls.model_validate(request.channel_settings.get(cls.slug) or {})


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: a Slack channel or user, an email address, a URL, a topic."""

    address: str
    approver: ApproverView | None = None


class Notifier(Protocol):
    slug: ClassVar[str]

    def targets(self, request: RequestView) -> list[Target]:
        """The places this channel announces the request to (one delivery row each)."""

    def announce(self, request: RequestView, target: Target) -> dict[str, Any] | None:
        """Announce a new pending request; return a reference to update it later (or None)."""

    def show_outcome(
        self, request: RequestView, target: Target, reference: dict[str, Any] | None
    ) -> None:
        """Show that the request left `pending` (approved, denied, expired, cancelled)."""

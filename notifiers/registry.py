"""Which notifier handles which channel slug, and each channel's own policy settings: the one
place a channel is registered. Policies (app/authz/policies.py and its body, PolicyIn), the
policy views and the admin portal read channels and their settings from here only."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from app.core.errors import RuleViolation
from notifiers.base import ChannelSettings, FormField, Notifier
from notifiers.slack.settings import SlackSettings
from notifiers.webhook import WebhookSettings

NotifierFactory = Callable[[], Notifier]


class UnknownChannel(KeyError):
    """A policy names a channel this service does not have."""


@dataclass(frozen=True)
class Channel:
    factory: NotifierFactory
    settings: type[ChannelSettings] = ChannelSettings
    # Delivers to a URL an org or agent chose: its own lane and queue (workers/deliveries.py),
    # so a slow receiver never holds the threads that announce on our own channels.
    third_party: bool = False


def _slack() -> Notifier:
    from notifiers.slack.notifier import SlackNotifier

    return SlackNotifier()


def _email() -> Notifier:
    from notifiers.email.notifier import EmailNotifier

    return EmailNotifier()


def _webhook() -> Notifier:
    from notifiers.webhook import WebhookNotifier

    return WebhookNotifier()


def _websocket() -> Notifier:
    from notifiers.websocket import WebsocketNotifier

    return WebsocketNotifier()


def _log() -> Notifier:
    from notifiers.log import LogNotifier

    return LogNotifier()


# Factories import lazily so a worker that only uses email never imports slack_sdk; settings
# models are small pydantic classes, read when the policy body is built.
_CHANNELS: dict[str, Channel] = {
    "slack": Channel(_slack, SlackSettings),
    "email": Channel(_email),
    "webhook": Channel(_webhook, WebhookSettings, third_party=True),
    "websocket": Channel(_websocket),
    "log": Channel(_log),
}


def channels() -> list[str]:
    """Every slug a policy may name in `channels`."""
    return sorted(_CHANNELS)


def third_party_channels() -> frozenset[str]:
    return frozenset(slug for slug, channel in _CHANNELS.items() if channel.third_party)


def get_notifier(slug: str) -> Notifier:
    """A fresh notifier (it reads the current settings) for slug, or UnknownChannel."""
    try:
        channel = _CHANNELS[slug]
    except KeyError:
        raise UnknownChannel(slug) from None
    return channel.factory()


def register(
    slug: str,
    factory: NotifierFactory,
    settings: type[ChannelSettings] = ChannelSettings,
    *,
    third_party: bool = False,
) -> Channel | None:
    """Install (or replace) a channel; returns the previous entry so tests can restore it."""
    taken = setting_names(skip=slug)
    clash = taken.intersection(settings.model_fields)
    if clash:
        raise ValueError(f"channel {slug}: settings {sorted(clash)} belong to another channel")
    previous = _CHANNELS.get(slug)
    _CHANNELS[slug] = Channel(factory, settings, third_party)
    return previous


def restore(slug: str, previous: Channel | None) -> None:
    """Undo register(): put back the previous entry, or remove a channel that was new."""
    if previous is None:
        _CHANNELS.pop(slug, None)
    else:
        _CHANNELS[slug] = previous


def _models(skip: str | None = None) -> Iterable[tuple[str, type[ChannelSettings]]]:
    return ((slug, c.settings) for slug, c in sorted(_CHANNELS.items()) if slug != skip)


def setting_names(skip: str | None = None) -> set[str]:
    return {name for _, model in _models(skip) for name in model.model_fields}


def setting_fields() -> dict[str, tuple[Any, FieldInfo]]:
    """Every channel's settings as fields of the policy body (app/authz/schemas.PolicyIn)."""
    return {
        name: (info.annotation, info)
        for _, model in _models()
        for name, info in model.model_fields.items()
    }


def form_fields() -> dict[str, FormField]:
    """How the admin portal shows each setting, in the channels' order."""
    return {
        name: model.form.get(name, FormField(name.replace("_", " ").capitalize()))
        for _, model in _models()
        for name in model.model_fields
    }


def read_settings(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The settings a policy body gives, validated by each channel's model and stored per slug
    (settings left out are not stored). A refusal is a RuleViolation naming the field."""
    stored = {}
    for slug, model in _models():
        given = {name: body[name] for name in model.model_fields if body.get(name) is not None}
        if not given:
            continue
        try:
            settings = model.model_validate(given).checked()
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise RuleViolation(f"{where}: {error['msg']}") from None
        stored[slug] = settings.model_dump(exclude_none=True)
    return stored


def shown_settings(stored: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Every channel's settings of a policy, flat as the policy body names them (None: unset)."""
    stored = stored or {}
    return {
        name: (stored.get(slug) or {}).get(name)
        for slug, model in _models()
        for name in model.model_fields
    }

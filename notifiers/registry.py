"""Which notifier handles which channel slug: the one place a new channel is registered."""

from collections.abc import Callable

from notifiers.base import Notifier

NotifierFactory = Callable[[], Notifier]


class UnknownChannel(KeyError):
    """A policy names a channel this service does not have."""


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


# Factories import lazily so a worker that only uses email never imports slack_sdk.
_FACTORIES: dict[str, NotifierFactory] = {
    "slack": _slack,
    "email": _email,
    "webhook": _webhook,
    "websocket": _websocket,
    "log": _log,
}


def channels() -> list[str]:
    """Every slug a policy may name in `channels`."""
    return sorted(_FACTORIES)


def get_notifier(slug: str) -> Notifier:
    """A fresh notifier (it reads the current settings) for slug, or UnknownChannel."""
    try:
        factory = _FACTORIES[slug]
    except KeyError:
        raise UnknownChannel(slug) from None
    return factory()


def register(slug: str, factory: NotifierFactory) -> NotifierFactory | None:
    """Install (or replace) a channel; returns the previous factory so tests can restore it."""
    previous = _FACTORIES.get(slug)
    _FACTORIES[slug] = factory
    return previous

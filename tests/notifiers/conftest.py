"""Fixtures for notifier tests: the fake Slack API and the loopback SMTP server."""

from tests.fakes.slack_api import slack_api  # noqa: F401
from tests.fakes.smtp import smtp_server  # noqa: F401

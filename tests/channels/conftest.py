"""Fixtures for end-to-end channel tests: the app's settings pointed at the fake Slack and SMTP."""

import pytest

from app.settings import get_settings
from tests.fakes.slack_api import slack_api  # noqa: F401
from tests.fakes.smtp import smtp_server  # noqa: F401

SIGNING_SECRET = "test-slack-signing-secret-0123456789"


@pytest.fixture
def slack(slack_api, monkeypatch):  # noqa: F811
    """The running app (web route and embedded worker) talks to the fake Slack API."""
    settings = get_settings()
    monkeypatch.setattr(settings, "slack_bot_token", "xoxb-test")
    monkeypatch.setattr(settings, "slack_signing_secret", SIGNING_SECRET)
    monkeypatch.setattr(settings, "slack_api_url", slack_api.base_url)
    return slack_api


@pytest.fixture
def smtp(smtp_server, monkeypatch):  # noqa: F811
    settings = get_settings()
    monkeypatch.setattr(settings, "smtp_host", smtp_server.host)
    monkeypatch.setattr(settings, "smtp_port", smtp_server.port)
    monkeypatch.setattr(settings, "email_from", "jitgate@jg.example")
    return smtp_server

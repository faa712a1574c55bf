"""The Slack channel's policy setting: the channel to post to (without it, a DM per approver)."""

from typing import ClassVar

from pydantic import Field

from notifiers.base import ChannelSettings, FormField


class SlackSettings(ChannelSettings):
    slug: ClassVar[str] = "slack"
    form: ClassVar[dict[str, FormField]] = {
        "slack_channel": FormField("Slack channel", "#approvals")
    }
    slack_channel: str | None = Field(default=None, max_length=200)

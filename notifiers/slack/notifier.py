"""The Slack channel: post the request to the policy's channel (or DM each approver), then update it."""

from typing import Any, ClassVar

from app.settings import Settings, get_settings
from notifiers.base import RequestView, Target
from notifiers.slack import blocks
from notifiers.slack.client import SlackClient, SlackField
from notifiers.slack.settings import SlackSettings

DASHBOARD_REQUEST_PATH = "/dashboard/requests/{request_id}"


def dashboard_url(settings: Settings, request_id: str) -> str:
    return settings.public_url.rstrip("/") + DASHBOARD_REQUEST_PATH.format(request_id=request_id)


class SlackNotifier:
    slug: ClassVar[str] = "slack"

    def __init__(self, client: SlackClient | None = None, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()
        self._client = client

    @property
    def client(self) -> SlackClient:
        # Built on first use so that listing targets works without a bot token configured.
        if self._client is None:
            self._client = SlackClient(self._settings)
        return self._client

    def targets(self, request: RequestView) -> list[Target]:
        """The policy's channel if it names one, otherwise a DM to each approver known to Slack."""
        channel = SlackSettings.of(request).slack_channel
        if channel:
            return [Target(address=channel)]
        return [
            Target(address=approver.slack_user_id, approver=approver)
            for approver in request.approvers
            if approver.slack_user_id
        ]

    def announce(self, request: RequestView, target: Target) -> dict[str, Any] | None:
        message = blocks.pending_message(request, dashboard_url=self._dashboard(request))
        return self.client.post_message(channel=target.address, **message)

    def show_outcome(
        self, request: RequestView, target: Target, reference: dict[str, Any] | None
    ) -> None:
        """Replace the buttons with who decided what (or why nobody did)."""
        if not reference:  # the announcement never landed: nothing to update
            return
        message = blocks.outcome_message(request, dashboard_url=self._dashboard(request))
        self.client.update_message(
            channel=str(reference[SlackField.CHANNEL]), ts=str(reference[SlackField.TS]), **message
        )

    def _dashboard(self, request: RequestView) -> str:
        return dashboard_url(self._settings, request.request_id)

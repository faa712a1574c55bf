"""The Slack Web API calls jitgate makes, with Slack's failures sorted into retry or give up."""

import http.client
import socket
import urllib.error
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from app.settings import Settings, get_settings
from notifiers.base import NotifierRejected, NotifierUnavailable

# Short: a task retries with backoff, and the interaction endpoint must answer within 3 s.
REQUEST_TIMEOUT_SECONDS = 5
MAX_ERROR_CHARS = 200


class SlackMethod(StrEnum):
    POST_MESSAGE = "chat.postMessage"
    UPDATE = "chat.update"
    POST_EPHEMERAL = "chat.postEphemeral"


class SlackField(StrEnum):
    OK = "ok"
    ERROR = "error"
    CHANNEL = "channel"
    TS = "ts"


class SlackError(StrEnum):
    """Slack error codes that mean "try again later"; every other error is permanent."""

    RATELIMITED = "ratelimited"
    INTERNAL_ERROR = "internal_error"
    FATAL_ERROR = "fatal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    REQUEST_TIMEOUT = "request_timeout"


TRANSIENT_ERRORS = frozenset(SlackError)
TRANSIENT_EXCEPTIONS = (
    urllib.error.URLError,
    http.client.HTTPException,
    socket.timeout,
    ConnectionError,
    TimeoutError,
)


class SlackNotConfigured(NotifierRejected):
    """No bot token: nothing can be posted until an operator sets JITGATE_SLACK_BOT_TOKEN."""


def _classify(exc: SlackApiError) -> Exception:
    status = getattr(exc.response, "status_code", 200)
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = str(data.get(SlackField.ERROR, "unknown_error"))[:MAX_ERROR_CHARS]
    if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
        return NotifierUnavailable(f"slack: {error} (HTTP {status})")
    return NotifierRejected(f"slack: {error}")


def _call(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """Run one Web API call; raise NotifierUnavailable or NotifierRejected on failure."""
    try:
        response = fn(**kwargs)
    except SlackApiError as exc:
        raise _classify(exc) from exc
    except TRANSIENT_EXCEPTIONS as exc:
        raise NotifierUnavailable(f"slack unreachable: {type(exc).__name__}") from exc
    except (SlackClientError, ValueError) as exc:  # e.g. a 5xx whose body is not JSON
        raise NotifierUnavailable(f"slack answered garbage: {type(exc).__name__}") from exc
    return dict(response.data) if isinstance(response.data, dict) else {}


class SlackClient:
    """A thin wrapper on slack_sdk's WebClient pointed at `JITGATE_SLACK_API_URL`."""

    def __init__(self, settings: Settings | None = None, web: WebClient | None = None) -> None:
        settings = settings or get_settings()
        if web is None:
            if not settings.slack_bot_token:
                raise SlackNotConfigured("JITGATE_SLACK_BOT_TOKEN is not set")
            # No built-in retries: the Celery task owns the retry policy, with backoff.
            web = WebClient(
                token=settings.slack_bot_token,
                base_url=_with_slash(settings.slack_api_url),
                timeout=REQUEST_TIMEOUT_SECONDS,
                retry_handlers=[],
            )
        self._web = web

    def post_message(self, *, channel: str, text: str, blocks: list[dict]) -> dict[str, str]:
        """Post and return where the message landed: `{"channel": id, "ts": ts}`."""
        data = _call(self._web.chat_postMessage, channel=channel, text=text, blocks=blocks)
        try:
            return {
                str(SlackField.CHANNEL): str(data[SlackField.CHANNEL]),
                str(SlackField.TS): str(data[SlackField.TS]),
            }
        except KeyError as exc:  # ok without channel/ts: a proxy or an incompatible fake
            raise NotifierUnavailable("slack: answer without channel or ts") from exc

    def update_message(self, *, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        _call(self._web.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)

    def post_ephemeral(self, *, channel: str, user: str, text: str) -> None:
        _call(self._web.chat_postEphemeral, channel=channel, user=user, text=text)


def _with_slash(url: str) -> str:
    """slack_sdk joins method names onto the base URL, so it must end with a slash."""
    return url if url.endswith("/") else url + "/"

"""The live dashboard channel: hand the request to the event bus; open dashboards redraw."""

from typing import Any, ClassVar

from notifiers.base import RequestView, Target

# The same words the JIT engine publishes on its own changes (`request.created`,
# `request.decided`), so a dashboard handles both sources with one code path.
KIND_ANNOUNCE = "created"
KIND_OUTCOME = "decided"


class WebsocketNotifier:
    slug: ClassVar[str] = "websocket"

    def targets(self, request: RequestView) -> list[Target]:
        return [Target(address=f"org:{request.org_id}")]

    def announce(self, request: RequestView, target: Target) -> dict[str, Any] | None:
        _publish(request, KIND_ANNOUNCE)
        return None

    def show_outcome(
        self, request: RequestView, target: Target, reference: dict[str, Any] | None
    ) -> None:
        _publish(request, KIND_OUTCOME)


def _publish(request: RequestView, kind: str) -> None:
    # Imported on use: the events service pulls in Redis/pub-sub wiring that the other
    # channels (and the tests of this registry) do not need.
    from app.core.events import publish_request_event

    publish_request_event(request, kind)

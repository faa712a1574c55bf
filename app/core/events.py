"""Events between processes: JIT status changes and new requests, for long-polls, SSE and dashboards.

publish() goes through Redis pub/sub when JITGATE_REDIS_URL is set (so a decision taken by a
worker or another web process reaches the agent waiting here), or straight to this process's
hub in embedded mode. Each web process runs one listener thread that feeds its hub; the hub
wakes asyncio subscribers with call_soon_threadsafe, so 1,000 waiters cost 1,000 small queues.
"""

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.core.kv import redis_client
from app.settings import get_settings

log = logging.getLogger(__name__)
CHANNEL = "jitgate:events"


def request_topic(request_id: str) -> str:
    return f"jit:{request_id}"


def org_topic(org_id: str) -> str:
    return f"org:{org_id}"


class Hub:
    """This process's subscribers, keyed by topic."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}
        self._lock = threading.Lock()

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(topic, ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, payload)
            except RuntimeError:  # the subscriber's loop has closed
                continue

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            for topic in topics:
                self._subscribers.setdefault(topic, set()).add(entry)
        try:
            yield queue
        finally:
            with self._lock:
                for topic in topics:
                    subs = self._subscribers.get(topic)
                    if subs is not None:
                        subs.discard(entry)
                        if not subs:
                            del self._subscribers[topic]

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())


hub = Hub()


def _redis() -> Any:
    return redis_client(get_settings().redis_url or "")


def publish(topic: str, payload: dict[str, Any]) -> None:
    """Send an event to every process; never raises (events are hints, the DB is the truth)."""
    if get_settings().embedded:
        hub.deliver(topic, payload)
        return
    try:
        _redis().publish(CHANNEL, json.dumps({"topic": topic, "payload": payload}))
    except Exception:
        log.warning("could not publish event on %s; waiters fall back to their timeout", topic)


class RedisListener:
    """One thread per web process: Redis pub/sub → the local hub."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="event-listener", daemon=True)
        self._thread.start()
        self.ready.wait(5)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                client = redis.Redis.from_url(self._url, socket_connect_timeout=2)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.ready.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message.get("type") == "message":
                        event = json.loads(message["data"])
                        hub.deliver(event["topic"], event["payload"])
                pubsub.close()
            except Exception:
                log.warning("event listener lost Redis; reconnecting", exc_info=True)
                self._stop.wait(1.0)


def publish_request_event(request: Any, kind: str) -> None:
    """Tell waiters and dashboards that a request was created or changed (kind: created/updated)."""
    payload = {
        "type": f"request.{kind}",
        "request_id": request.request_id,
        "status": request.status,
        "org_id": request.org_id,
        "permission": request.permission,
        "agent_name": request.agent_name,
    }
    publish(request_topic(request.request_id), payload)
    publish(org_topic(request.org_id), payload)

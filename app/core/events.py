"""Events between processes: JIT status changes and new requests, for long-polls, SSE and dashboards.

publish() goes through Redis pub/sub when JITGATE_REDIS_URL is set (so a decision taken by a
worker or another web process reaches the agent waiting here), or straight to this process's
hub in embedded mode. Each web process runs one listener thread that feeds its hub.

Two kinds of subscriber: a queue (the dashboard's sockets, which show each event's payload) and
a Watch (the agents waiting on one request, who only need to know that it changed and then read
the row). Ten thousand agents may wait on the same request: a Watch is a flag and at most one
future, and an event wakes all of a topic's watches on a loop with one call_soon_threadsafe.
"""

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from app.core.kv import redis_client
from app.settings import get_settings

log = logging.getLogger(__name__)
CHANNEL = "jitgate:events"


def request_topic(request_id: str) -> str:
    return f"jit:{request_id}"


def org_topic(org_id: str) -> str:
    return f"org:{org_id}"


class Watch:
    """Says whether its topic had an event since the last wait(); one per waiting agent."""

    __slots__ = ("_changed", "_woken")

    def __init__(self) -> None:
        self._changed = False
        self._woken: asyncio.Future[None] | None = None

    def fire(self) -> None:
        self._changed = True
        if self._woken is not None and not self._woken.done():
            self._woken.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """True once an event came (perhaps before this call), False after `timeout` seconds.

        A plain future and a timer handle: no task per wait, unlike asyncio.wait_for."""
        if not self._changed:
            loop = asyncio.get_running_loop()
            self._woken = loop.create_future()
            timer = loop.call_later(timeout, _wake, self._woken)
            try:
                await self._woken
            finally:
                timer.cancel()
                self._woken = None
        changed, self._changed = self._changed, False
        return changed


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Hub:
    """This process's subscribers, keyed by topic."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}
        # topic -> loop -> the watches of that loop's waiters (each loop is one thread)
        self._watches: dict[str, dict[asyncio.AbstractEventLoop, set[Watch]]] = {}
        self._lock = threading.Lock()

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(topic, ()))
            loops = list(self._watches.get(topic, ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, payload)
            except RuntimeError:  # the subscriber's loop has closed
                continue
        for loop in loops:
            try:
                loop.call_soon_threadsafe(self._fire, topic, loop)
            except RuntimeError:
                continue

    def _fire(self, topic: str, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            watches = list(self._watches.get(topic, {}).get(loop, ()))
        for watch in watches:
            watch.fire()

    @contextmanager
    def watch(self, topic: str) -> Iterator[Watch]:
        """A Watch on `topic` for the running loop's coroutine; events from now on fire it."""
        watch = self.add_watch(topic)
        try:
            yield watch
        finally:
            self.drop_watch(topic, watch)

    def add_watch(self, topic: str) -> Watch:
        """watch() for a waiter whose wait outlives a block (an SSE response): drop_watch ends it."""
        watch = Watch()
        with self._lock:
            by_loop = self._watches.setdefault(topic, {})
            by_loop.setdefault(asyncio.get_running_loop(), set()).add(watch)
        return watch

    def drop_watch(self, topic: str, watch: Watch) -> None:
        with self._lock:
            by_loop = self._watches.get(topic, {})
            for loop, watches in list(by_loop.items()):
                watches.discard(watch)
                if not watches:
                    del by_loop[loop]
            if not by_loop:
                self._watches.pop(topic, None)

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
            queues = sum(len(s) for s in self._subscribers.values())
            return queues + sum(len(w) for b in self._watches.values() for w in b.values())


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

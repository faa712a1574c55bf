"""Keys behind agents' jwks_uri: cached, fetched once at a time per URL, failures remembered.

Anyone can name an agent in an assertion, and an agent's key host may be slow or hostile, so a
fetch must never hold up other URLs (no process-wide lock around I/O), requests for one URL
share one fetch, a failed URL is left alone for `jwks_failure_seconds`, a URL is fetched at most
once per MIN_REFRESH_SECONDS whatever kids are claimed, and the threads tied up in fetching or
waiting are capped per URL, per organization (so one org's key hosts cannot use up another's
share) and overall. A caller that cannot be given keys now, through no fault
of the agent's key host, gets 503 temporarily_unavailable with Retry-After.
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.core.errors import InvalidClient, TemporarilyUnavailable
from app.identity.agent_keys import JwksFetchFailed, PublicKey, fetch_jwks
from app.settings import get_settings

STALE_LIMIT = 2  # multiples of jwks_cache_seconds that old keys may stand in for a failing URL
MAX_WAITERS_PER_URL = 8
MAX_BUSY_PER_ORG = 16  # threads fetching or waiting for one organization's agents
MAX_BUSY_THREADS = 48  # all organizations together; the web process has 200


@dataclass
class _Slot:
    """What is known about one URL. Read and written only under JwksCache._lock."""

    keys: list[PublicKey] | None = None
    fetched_at: float = -math.inf  # when `keys` arrived
    tried_at: float = -math.inf  # when the last fetch started
    failure: str | None = None  # why the last fetch failed (None once one succeeds)
    failed_at: float = -math.inf
    fetching: threading.Event | None = None  # set when the fetch in flight ends
    waiters: int = 0


class JwksCache:
    """An unknown kid forces a refetch, at most once per MIN_REFRESH_SECONDS per URL."""

    MIN_REFRESH_SECONDS = 10.0

    def __init__(self, fetch: Callable[[str], list[PublicKey]] = fetch_jwks) -> None:
        self.clock: Callable[[], float] = time.monotonic  # tests move it forward
        self._fetch = fetch
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()  # guards the slots; never held during network I/O
        self._busy: dict[str, int] = {}  # org id -> threads fetching or waiting

    def get(self, uri: str, *, kid: str | None, org_id: str) -> list[PublicKey]:
        with self._lock:
            slot = self._slots.setdefault(uri, _Slot())
            keys = self._cached(slot, kid)
            if keys is not None:
                return keys
            fetcher = slot.fetching is None
            self._occupy(org_id, waiting=not fetcher, slot=slot)
            if fetcher:
                slot.tried_at, slot.fetching = self.clock(), threading.Event()
            done = slot.fetching
            assert done is not None
        try:
            if fetcher:
                return self._fetch_into(uri, slot, done, kid)
            return self._await(slot, done, kid)
        finally:
            with self._lock:
                self._busy[org_id] -= 1

    def _cached(self, slot: _Slot, kid: str | None) -> list[PublicKey] | None:
        """Keys to answer with, or None when this caller needs the fetch (in flight or new);
        a failure still remembered is raised."""
        now, ttl = self.clock(), get_settings().jwks_cache_seconds
        age = now - slot.fetched_at
        usable = slot.keys if age < STALE_LIMIT * ttl else None
        known = usable is not None and (kid is None or any(k.kid == kid for k in usable))
        failing = slot.failure is not None and now - slot.failed_at < _failure_seconds()
        if known and (age < ttl or slot.fetching is not None or failing):
            return usable  # fresh; or old keys while a refresh runs or the host is failing
        if slot.fetching is not None:
            return None
        if failing:
            retry = math.ceil(_failure_seconds() - (now - slot.failed_at))
            raise InvalidClient(f"{slot.failure} (not fetched again for {retry} s)")
        if usable is not None and now - slot.tried_at < self.MIN_REFRESH_SECONDS:
            return usable  # an unknown kid so soon after a fetch: select_key refuses it
        return None

    def _occupy(self, org_id: str, *, waiting: bool, slot: _Slot) -> None:
        """Count this thread against the caps, or refuse it at once (503) when they are full."""
        if waiting and slot.waiters >= MAX_WAITERS_PER_URL:
            raise _busy("the agent's jwks_uri is being fetched")
        if self._busy.get(org_id, 0) >= MAX_BUSY_PER_ORG:
            raise _busy("too many key fetches are in progress for this organization")
        if sum(self._busy.values()) >= MAX_BUSY_THREADS:
            raise _busy("too many key fetches are in progress")
        self._busy[org_id] = self._busy.get(org_id, 0) + 1
        slot.waiters += waiting

    def _fetch_into(
        self, uri: str, slot: _Slot, done: threading.Event, kid: str | None
    ) -> list[PublicKey]:
        keys: list[PublicKey] | None = None
        failure: str | None = None
        try:
            keys = self._fetch(uri)
        except JwksFetchFailed as exc:
            failure = str(exc)
        finally:  # also on an unexpected error: the slot must never stay "fetching"
            with self._lock:
                if keys is not None:
                    slot.keys, slot.fetched_at = keys, self.clock()
                slot.failure, slot.failed_at = failure, self.clock()
                slot.fetching = None
            done.set()
        return keys if keys is not None else self._after_fetch(slot, kid)

    def _await(self, slot: _Slot, done: threading.Event, kid: str | None) -> list[PublicKey]:
        try:
            # The fetch ends by its own deadline; the margin only covers a stalled resolver.
            ended = done.wait(get_settings().jwks_fetch_timeout + 5)
        finally:
            with self._lock:
                slot.waiters -= 1
        if not ended:
            raise _busy("the agent's jwks_uri is still being fetched")
        return self._after_fetch(slot, kid)

    def _after_fetch(self, slot: _Slot, kid: str | None) -> list[PublicKey]:
        with self._lock:
            keys = self._cached(slot, kid)
        if keys is None:  # a new fetch started meanwhile; don't queue behind it
            raise _busy("the agent's jwks_uri is being fetched")
        return keys

    def clear(self) -> None:
        with self._lock:
            self._slots = {uri: s for uri, s in self._slots.items() if s.fetching is not None}


def _failure_seconds() -> float:
    return get_settings().jwks_failure_seconds


def _busy(description: str) -> TemporarilyUnavailable:
    retry = math.ceil(get_settings().jwks_fetch_timeout)
    return TemporarilyUnavailable(f"{description}; retry in {retry} s", retry_after=retry)


jwks_cache = JwksCache()

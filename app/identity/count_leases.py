"""Counts a web process reserves for a hot token in Redis mode: fewer round trips, bounded staleness.

In Redis mode every request made with an access token asks Redis, in one round trip, whether the
token is revoked and counts the request against the agent's per-minute limit (rate_limits.py).
For an agent calling many times a second with one token, that round trip is a large share of a
permission check's CPU. So a process may reserve several counts of the shared window at once,
with the same script and the same revocation answer, and admit the next requests made with that
same token from its reservation, for at most LEASE_SECONDS.

The bounds, for limits of at least MIN_LIMIT requests a minute (below that every request asks,
and no lease is kept):
- revocation: a token revoked elsewhere may still be admitted by a process for up to
  LEASE_SECONDS after it last asked Redis about that token; the process that revokes a token
  drops its own lease at once (forget(), called where a revocation is written), and a round
  trip in flight meanwhile, which Redis may have answered before the revocation, keeps none;
- memory: at most MAX_LEASES tokens hold a lease; past that the oldest lease goes first;
- limits stay shared and are never exceeded (reservations come out of the shared window), but a
  process may count up to MAX_RESERVED - 1 requests it then did not serve (its reservation ran
  out of time), that many again for each other round trip for the token in flight at once
  (their reservations are pooled, not dropped): an agent at its limit may be refused that many
  requests early.
A cold token (a request now and then) reserves one count a request, exactly as without leases.
"""

import threading
from dataclasses import dataclass

LEASE_SECONDS = 0.1
MAX_RESERVED = 32
MIN_LIMIT = 6000  # 100 a second: a process's unused reservation is then noise
MAX_LEASES = 10_000  # about 1 MiB: a flood of distinct tokens cannot grow the table further
_FORGET_AFTER = 1.0  # seconds after a lease ended: how long its use still sizes the next one


@dataclass
class _Lease:
    left: int  # reserved counts not yet used
    used: int  # requests admitted under this lease (the one that asked Redis included)
    until: float  # monotonic time after which nothing more is admitted from it


class CountLeases:
    def __init__(self) -> None:
        self._leases: dict[tuple[str, str], _Lease] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0
        self._forgotten = 0  # forget() calls so far: a round trip begun before one grants nothing

    def revocations(self) -> int:
        """Read before a round trip, handed to grant(): a revocation made here meanwhile (which
        Redis may have answered too late to see) then leaves no reservation behind."""
        return self._forgotten

    def take(self, key: str, jti: str, *, now: float) -> bool:
        """Admit one request of `jti` from this process's reservation, if one is still good."""
        with self._lock:
            lease = self._leases.get((key, jti))
            if lease is None or lease.left <= 0 or now >= lease.until:
                return False
            lease.left -= 1
            lease.used += 1
            return True

    def size(self, key: str, jti: str, limit: int, *, now: float) -> int:
        """How many counts to reserve with the round trip about to be made."""
        if limit < MIN_LIMIT:
            return 1
        with self._lock:
            lease = self._leases.get((key, jti))
        if lease is None:
            return 1
        if now < lease.until:  # it ran out before its time: a hot token, reserve more
            return min(MAX_RESERVED, 2 * lease.used)
        if now - lease.until > _FORGET_AFTER:
            return 1
        return min(MAX_RESERVED, lease.used)  # about what one lease's time needed last time

    def grant(
        self, key: str, jti: str, granted: int, *, now: float, since: int | None = None
    ) -> None:
        """The round trip admitted one request and reserved `granted - 1` more for this token.
        Called for limits of at least MIN_LIMIT only (a lease of one count still sizes the
        next reservation: it is how a token is found to be hot). since: revocations() before
        the round trip; when this process revoked any token since, nothing is kept."""
        with self._lock:
            if since is not None and since != self._forgotten:
                self._leases.pop((key, jti), None)
                return
            if now >= self._next_sweep:
                self._sweep(now)
            lease = _Lease(granted - 1, 1, now + LEASE_SECONDS)
            old = self._leases.pop((key, jti), None)  # re-inserted last: the order is age
            if old is not None and now < old.until:
                # Another thread's round trip for this token, still good: its counts are in
                # the shared window, so they are kept, not dropped unserved.
                lease = _Lease(old.left + lease.left, old.used + 1, max(old.until, lease.until))
            # Full: the first lease is the oldest, so also the stalest; no scan of the table
            # (under the lock, on every grant of a flood) could pick a better one to drop.
            while len(self._leases) >= MAX_LEASES:
                del self._leases[next(iter(self._leases))]
            self._leases[(key, jti)] = lease

    def forget(self, jti: str) -> None:
        """This process revoked `jti`: admit nothing more from its lease."""
        with self._lock:
            self._forgotten += 1
            for k in [k for k in self._leases if k[1] == jti]:
                del self._leases[k]

    def __len__(self) -> int:
        return len(self._leases)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + 60
        stale = [k for k, lease in self._leases.items() if now - lease.until > _FORGET_AFTER]
        for k in stale:
            del self._leases[k]

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()


LEASES = CountLeases()  # this process's reservations (rate_limits.py takes and grants them)


def forget(jti: str) -> None:
    LEASES.forget(jti)

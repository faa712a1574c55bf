"""The token endpoint's client-address count in Redis mode, deferred to its one Redis script.

A token request asks Redis three things: its address's count, its assertion's jti claim and its
agent's count. Asked one by one, each is a blocking round trip on the event loop. Here the
address is not counted up front: the script that claims the jti counts it first
(app.identity.replay.claim_counting), and a request that ends before that script (a malformed
form, a refused assertion, a grant that claims no jti) is counted by finish() instead. Every
request still counts once, and one over the limit is answered 429 as before. An address this
process has seen over its limit is refused before any work until its window ends; another
process learns it on its first request there. Because the count comes at the end, a burst of
requests at once would otherwise all be verified before any is counted: a process lets at most
the limit's worth of one address's token requests be in flight at once (begin/end), so the work
an address can cause stays bounded by its limit. Without Redis, or with limits off, the address
is counted up front as on every other route (a local hit costs a microsecond).
"""

import math
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from app.core.errors import RateLimited
from app.identity import rate_limits
from app.settings import get_settings


@dataclass
class DeferredAddress:
    address: str
    counted: bool = False
    ended: bool = False


# Set per request by begin(); shared (the same object) with a worker thread the request uses.
_deferred: ContextVar[DeferredAddress | None] = ContextVar("deferred_address", default=None)
# Addresses this process was told are over their limit, until their window ends (monotonic).
_over_limit: dict[str, float] = {}
_MAX_OVER_LIMIT = 10_000
# Token requests of each address in flight in this process; an entry goes when its last ends.
_in_flight: dict[str, int] = {}
_in_flight_lock = threading.Lock()


def begin(address: str) -> None:
    """At the start of a token request: count now (embedded mode), or refuse an address known
    to be over its limit, or leave the count to the claim script."""
    settings = get_settings()
    redis_counted = isinstance(rate_limits.get_counter(), rate_limits.RedisCounter)
    if not settings.rate_limits_enabled or not redis_counted:
        _deferred.set(None)
        rate_limits.limit_address(address)
        return
    until = _over_limit.get(address)
    if until is not None:
        left = until - time.monotonic()
        if left > 0:
            _refuse(settings.address_requests_per_minute, math.ceil(left))
        _over_limit.pop(address, None)
    limit = settings.address_requests_per_minute
    with _in_flight_lock:
        if _in_flight.get(address, 0) >= limit:
            busy = True
        else:
            busy = False
            _in_flight[address] = _in_flight.get(address, 0) + 1
    if busy:  # refused here, uncounted: the requests in flight spend the window for it
        _deferred.set(None)
        _refuse(limit, 1)
    _deferred.set(DeferredAddress(address))


def end() -> None:
    """After a token request, whatever its outcome: it is no longer in flight."""
    deferred = _deferred.get()
    if deferred is None or deferred.ended:
        return
    deferred.ended = True
    with _in_flight_lock:
        left = _in_flight.get(deferred.address, 0) - 1
        if left > 0:
            _in_flight[deferred.address] = left
        else:
            _in_flight.pop(deferred.address, None)


def counter() -> tuple[str, int, DeferredAddress] | None:
    """For the claim script: the Redis key counting this request's address, its limit and the
    deferred count (to mark counted); None when there is none left to count."""
    deferred = _deferred.get()
    if deferred is None or deferred.counted:
        return None
    limit = get_settings().address_requests_per_minute
    key = rate_limits.redis_counter_key(f"address/{deferred.address}", limit, rate_limits.MINUTE)
    return key, limit, deferred


def refuse_over_limit(deferred: DeferredAddress, limit: int, left_ms: int) -> None:
    """The claim script found the address over its limit (and claimed and counted nothing)."""
    retry_after = max(math.ceil(left_ms / 1000), 1)
    _remember(deferred.address, retry_after)
    _refuse(limit, retry_after)


def finish() -> None:
    """Count the request's address if no script has: every request counts once."""
    deferred = _deferred.get()
    if deferred is None or deferred.counted:
        return
    deferred.counted = True
    try:
        rate_limits.limit_address(deferred.address)
    except RateLimited as exc:
        _remember(deferred.address, exc.retry_after)
        raise


def _remember(address: str, retry_after: int) -> None:
    now = time.monotonic()
    if len(_over_limit) >= _MAX_OVER_LIMIT:  # bounded; many addresses must not wipe the rest
        for gone in [a for a, until in _over_limit.items() if until <= now]:
            del _over_limit[gone]
        while len(_over_limit) >= _MAX_OVER_LIMIT:
            del _over_limit[next(iter(_over_limit))]  # the oldest; Redis still counts it
    _over_limit[address] = now + retry_after


def _refuse(limit: int, retry_after: int) -> None:
    raise RateLimited(
        f"over the limit of {limit} {rate_limits.ADDRESS_LIMIT}; retry in {retry_after} s",
        retry_after=retry_after,
    )


def forget() -> None:
    """Tests: forget the addresses known to be over their limit and those in flight."""
    _over_limit.clear()
    with _in_flight_lock:
        _in_flight.clear()

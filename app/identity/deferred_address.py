"""The token endpoint's client-address count in Redis mode, deferred to its one Redis script.

A token request asks Redis three things: its address's count, its assertion's jti claim and its
agent's count. Asked one by one, each is a blocking round trip on the event loop. Here the
address is not counted up front: the script that claims the jti counts it first
(app.identity.replay.claim_counting), and a request that ends before that script (a malformed
form, a refused assertion, a grant that claims no jti) is counted by finish() instead. Every
request still counts once, and one over the limit is answered 429 as before. An address this
process has seen over its limit is refused before any work until its window ends; another
process learns it on its first request there. Without Redis, or with limits off, the address
is counted up front as on every other route (a local hit costs a microsecond).
"""

import math
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


# Set per request by begin(); shared (the same object) with a worker thread the request uses.
_deferred: ContextVar[DeferredAddress | None] = ContextVar("deferred_address", default=None)
# Addresses this process was told are over their limit, until their window ends (monotonic).
_over_limit: dict[str, float] = {}
_MAX_OVER_LIMIT = 10_000


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
    _deferred.set(DeferredAddress(address))


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
    if len(_over_limit) >= _MAX_OVER_LIMIT:
        _over_limit.clear()
    _over_limit[address] = time.monotonic() + retry_after


def _refuse(limit: int, retry_after: int) -> None:
    raise RateLimited(
        f"over the limit of {limit} {rate_limits.ADDRESS_LIMIT}; retry in {retry_after} s",
        retry_after=retry_after,
    )


def forget() -> None:
    """Tests: forget the addresses known to be over their limit."""
    _over_limit.clear()

"""Redis mode: a hot token's requests share round trips (app/identity/count_leases.py), while the
agent's limit stays shared by every process and a revocation is seen within the lease's bound."""

import time

import pytest

from app.core.errors import RateLimited, TokenRevoked
from app.identity import access_tokens, count_leases, rate_limits
from app.identity.count_leases import LEASE_SECONDS, MAX_LEASES, MIN_LIMIT, CountLeases
from tests.shared_redis import uses_shared_redis
from tests.test_rate_limits import _redis_counter

pytestmark = uses_shared_redis  # counts on the machine's Redis database (tests/shared_redis.py)


class CountingCounter:
    """The real Redis counter, counting its round trips."""

    def __init__(self, counter: rate_limits.RedisCounter) -> None:
        self.counter, self.round_trips = counter, 0

    def __getattr__(self, name: str):
        return getattr(self.counter, name)

    def reserve(self, *args, **kwargs):
        self.round_trips += 1
        return self.counter.reserve(*args, **kwargs)


@pytest.fixture
def redis_mode(monkeypatch):
    counter, raw = _redis_counter()
    counting = CountingCounter(counter)
    monkeypatch.setattr(rate_limits, "RedisCounter", CountingCounter)  # the isinstance check
    monkeypatch.setattr(rate_limits, "get_counter", lambda: counting)
    monkeypatch.setattr(count_leases, "LEASES", CountLeases())
    yield counting, raw
    counter.clear()


def _admitted(org: str, agent: str, jti: str) -> bool:
    try:
        rate_limits.limit_token_request(org, agent, MIN_LIMIT, jti=jti)
    except RateLimited:
        return False
    return True


def test_two_processes_with_leases_never_admit_more_than_the_shared_limit(redis_mode, monkeypatch):
    counting, raw = redis_mode
    # given an agent 50 requests short of its limit, and two processes (their own leases)
    raw.set(f"jitgate:rl:agent/o/hot/{MIN_LIMIT}/60", MIN_LIMIT - 50, ex=60)
    processes = [CountLeases(), CountLeases()]
    admitted = refused = 0
    # when both serve the same hot token, turn about, until both refuse
    for n in range(400):
        monkeypatch.setattr(count_leases, "LEASES", processes[n % 2])
        if _admitted("o", "hot", "jti-hot"):
            admitted += 1
        else:
            refused += 1
    # then together they admitted no more than the 50 left, and asked Redis less than once each
    assert 0 < admitted <= 50 and refused > 0
    assert counting.round_trips < 400


def test_a_cold_limit_asks_redis_for_every_request(redis_mode):
    counting, _ = redis_mode
    for _ in range(20):
        rate_limits.limit_token_request("o", "cold", MIN_LIMIT - 1, jti="jti-cold")
    assert counting.round_trips == 20


def test_a_revoked_token_is_refused_once_the_lease_has_run_out(redis_mode):
    _, raw = redis_mode
    for _ in range(100):  # a hot token: its process holds a reservation
        rate_limits.limit_token_request("o", "hot", MIN_LIMIT, jti="jti-revoked")
    raw.set(access_tokens.redis_revoked_key("jti-revoked"), b"1", ex=60)

    time.sleep(LEASE_SECONDS)  # the documented staleness bound

    with pytest.raises(TokenRevoked):
        rate_limits.limit_token_request("o", "hot", MIN_LIMIT, jti="jti-revoked")
    raw.delete(access_tokens.redis_revoked_key("jti-revoked"))


def test_a_lease_admits_nothing_after_its_time_or_for_another_token():
    leases = CountLeases()
    leases.grant("agent/o/a", "jti-1", 5, now=100.0)
    assert leases.take("agent/o/a", "jti-1", now=100.01)
    assert not leases.take("agent/o/a", "jti-2", now=100.01)  # revocation is per token
    assert not leases.take("agent/o/a", "jti-1", now=100.0 + LEASE_SECONDS)


def test_a_token_revoked_by_this_process_is_refused_at_once_not_after_the_lease(redis_mode):
    """The staleness bound is for revocations made elsewhere: the process that revokes a token
    drops its own reservation for it, so its very next request asks Redis and is refused."""
    _, raw = redis_mode
    for _ in range(100):  # hot: this process holds a reservation for the token
        rate_limits.limit_token_request("o", "hot", MIN_LIMIT, jti="jti-mine")
    try:
        # what every revocation path writes (the store here is the embedded one: the shared
        # list is written by hand, as the Redis store would)
        raw.set(access_tokens.redis_revoked_key("jti-mine"), b"1", ex=60)
        access_tokens.mark_revoked("jti-mine", 60)
        with pytest.raises(TokenRevoked):
            rate_limits.limit_token_request("o", "hot", MIN_LIMIT, jti="jti-mine")
    finally:
        raw.delete(access_tokens.redis_revoked_key("jti-mine"))


def test_cold_limits_hold_no_lease_at_all(redis_mode):
    for n in range(50):  # many tokens of an agent whose limit is under MIN_LIMIT
        rate_limits.limit_token_request("o", "cold", MIN_LIMIT - 1, jti=f"jti-cold-{n}")
    assert len(count_leases.LEASES) == 0


def test_the_lease_store_is_bounded_however_many_tokens_are_hot():
    leases = CountLeases()
    for n in range(MAX_LEASES + 500):
        leases.grant("agent/o/a", f"jti-{n}", 4, now=100.0 + n * 1e-6)
    assert len(leases) <= MAX_LEASES
    # and the newest token still got its reservation
    assert leases.take("agent/o/a", f"jti-{MAX_LEASES + 499}", now=100.01)


def test_a_revocation_made_here_during_a_round_trip_leaves_no_lease_behind(redis_mode, monkeypatch):
    """Another thread of this process revokes the token while a request's round trip is in
    flight (Redis had not seen the revocation yet): that one request may pass, as it began
    first, but no reservation made by it may admit anything after the revocation returned."""
    counting, raw = redis_mode
    for _ in range(100):  # hot: the next round trip reserves several counts
        rate_limits.limit_token_request("o", "hot", MIN_LIMIT, jti="jti-race")
    time.sleep(LEASE_SECONDS * 1.5)  # the lease ran out: the next request asks Redis

    real_reserve = counting.counter.reserve

    def revoked_meanwhile(*args, **kwargs):
        answer = real_reserve(*args, **kwargs)
        raw.set(access_tokens.redis_revoked_key("jti-race"), b"1", ex=60)
        access_tokens.mark_revoked("jti-race", 60)  # the revoking thread, after the script ran
        return answer

    monkeypatch.setattr(counting.counter, "reserve", revoked_meanwhile)
    try:
        rate_limits.limit_token_request("o", "hot", MIN_LIMIT, jti="jti-race")
        monkeypatch.setattr(counting.counter, "reserve", real_reserve)
        with pytest.raises(TokenRevoked):
            rate_limits.limit_token_request("o", "hot", MIN_LIMIT, jti="jti-race")
    finally:
        raw.delete(access_tokens.redis_revoked_key("jti-race"))


def test_a_revocation_whose_list_write_failed_still_drops_this_process_lease(monkeypatch):
    """A JIT token's revocation goes on when the shared list cannot be written (its request's
    status decides, app/jit/revocation.py): this process's lease for it must go all the same."""
    from app.core.kv import StoreUnavailable

    leases = CountLeases()
    monkeypatch.setattr(count_leases, "LEASES", leases)
    leases.grant("agent/o/hot", "jti-down", 8, now=100.0)  # a live reservation of 7 counts

    class DownStore:
        def put(self, *_args, **_kwargs):
            raise StoreUnavailable("Redis unreachable")

    monkeypatch.setattr(access_tokens, "get_store", lambda: DownStore())
    with pytest.raises(StoreUnavailable):
        access_tokens.mark_revoked("jti-down", 60)
    assert not leases.take("agent/o/hot", "jti-down", now=100.01)


def test_a_full_table_is_not_scanned_on_every_grant(monkeypatch):
    """A flood of hot tokens fills the table; each further grant then evicts the oldest lease
    (the table's order is age, so the oldest is also the stalest) instead of scanning all
    MAX_LEASES under the lock first: that scan cost a grant 200 times what it costs otherwise,
    as much as the round trip a lease saves, with every thread waiting on it."""
    leases = CountLeases()
    for n in range(MAX_LEASES):
        leases.grant("agent/o/a", f"jti-{n}", 4, now=100.0)
    scans = 0
    real_sweep = leases._sweep

    def counted(now: float) -> None:
        nonlocal scans
        scans += 1
        real_sweep(now)

    monkeypatch.setattr(leases, "_sweep", counted)
    for n in range(100):
        leases.grant("agent/o/a", f"jti-more-{n}", 4, now=100.0)
    assert scans == 0
    assert len(leases) == MAX_LEASES
    assert not leases.take("agent/o/a", "jti-0", now=100.01)  # the oldest went first
    assert leases.take("agent/o/a", "jti-more-99", now=100.01)


def test_two_round_trips_in_flight_at_once_lose_neither_reservation():
    """Two threads of one process miss the lease of one hot token at once and both reserve
    counts in Redis: the second grant must add to the first, not drop its counts (counted in
    the shared window, never served: the agent would be refused early by far more than the
    MAX_RESERVED - 1 the bound allows)."""
    leases = CountLeases()
    leases.grant("agent/o/a", "jti-1", 32, now=100.0)
    leases.grant("agent/o/a", "jti-1", 32, now=100.0)
    admitted = 0
    while leases.take("agent/o/a", "jti-1", now=100.05):
        admitted += 1
    assert admitted == 62

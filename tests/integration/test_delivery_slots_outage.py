"""A delivery slot held when Redis dies is given back once Redis returns, not a lease later."""

import time

import pytest

from tests.integration.redis_server import RedisServer, redis_server_missing
from workers.fairness import RedisSlots

pytestmark = pytest.mark.skipif(bool(redis_server_missing()), reason=str(redis_server_missing()))


def test_a_slot_released_during_an_outage_is_freed_when_redis_returns():
    server = RedisServer().start()
    try:
        slots = RedisSlots(f"redis://127.0.0.1:{server.port}/0")
        # Given the org's only slot, taken before Redis went away (and kept on disk by Redis)
        token = slots.acquire("org_a", cap=1, lease=600)
        assert token is not None
        time.sleep(1.5)  # appendfsync everysec: the slot is on disk, as in production
        server.kill()
        # When the delivery ends during the outage, the release cannot reach Redis
        slots.release("org_a", token)  # no exception: the delivery's outcome stands
        server.start()
        # Then, once Redis is back, the org gets its slot now, not after the 600 s lease
        assert slots.acquire("org_a", cap=1, lease=600) is not None
    finally:
        server.stop()

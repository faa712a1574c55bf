"""LeanScript: one Lua script call in one round trip, with redis-py's outcomes, on a real Redis."""

import os
import uuid

import pytest
import redis

from app.core.kv import redis_client
from app.core.redis_script import LeanScript
from tests.shared_redis import uses_shared_redis

pytestmark = uses_shared_redis  # writes keys in the machine's Redis database

URL = f"redis://127.0.0.1:6379/{os.environ.get('JITGATE_TEST_REDIS_DB', '15')}"


@pytest.fixture
def client():
    client = redis_client(URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


def _script(client, body: str) -> LeanScript:
    # A text no server has seen: its first call finds it unknown (NOSCRIPT).
    return LeanScript(client, f"-- {uuid.uuid4()}\n{body}")


def test_a_script_the_server_does_not_know_is_sent_once_and_answers(client):
    key = f"jitgate:test:{uuid.uuid4()}"
    script = _script(client, "return {redis.call('INCR', KEYS[1]), tonumber(ARGV[1])}")
    assert script([key], [7]) == [1, 7]
    assert script([key], [8]) == [2, 8]
    client.delete(key)


def test_an_error_reply_is_raised_and_the_connection_serves_the_next_call(client):
    failing = _script(client, "return redis.error_reply('refused here')")
    with pytest.raises(redis.ResponseError, match="refused here"):
        failing([], [])
    assert _script(client, "return 5")([], []) == 5


def test_an_unreachable_server_raises_a_connection_error_and_keeps_no_connection():
    from tests.integration.stack import free_port

    client = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    with pytest.raises(redis.ConnectionError):
        _script(client, "return 1")([], [])
    assert all(c._sock is None for c in client.connection_pool._available_connections)

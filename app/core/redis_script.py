"""A Lua script run in one Redis round trip with as little client-side Python as redis-py allows.

`redis.Script.__call__` goes through `evalsha`, `execute_command`, the connection's retry
wrapper and redis-py 8's per-command observability (timing, attributes, event dispatch): about
34 µs of CPU a call here against 16 µs for the same command sent on a pooled connection, and
the token endpoint makes one such call per token in Redis mode. This sends EVALSHA on a
connection from the client's own pool and reads the reply, with the same outcomes: a reply
Redis refused (an error reply) is raised as redis-py raises it, a connection that failed midway
is dropped (never handed to the next caller with half a reply in it) and the error raised, and
a server that does not know the script (restarted, or another server) is sent it once.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError, ResponseError


class LeanScript:
    def __init__(self, client: Any, text: str) -> None:
        self._client = client
        self._text = text
        self._sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return self._evalsha(keys, args)
        except NoScriptError:
            self._client.script_load(self._text)
            return self._evalsha(keys, args)

    def _evalsha(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        pool = self._client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_command("EVALSHA", self._sha, len(keys), *keys, *args)
            return connection.read_response()
        except ResponseError:
            raise  # a whole error reply was read: the connection is fine
        except BaseException:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)

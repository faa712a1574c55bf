"""Random identifiers for hot paths (decision ids, token jtis), from a buffered CSPRNG.

os.urandom is a system call, and on some machines a slow one (tens of microseconds); drawing
it a few kilobytes at a time keeps every id just as unpredictable at a fraction of the cost.
Secrets that guard something (admin tokens, CSRF tokens) still come from `secrets` directly.
"""

import base64
import os
import threading

_BUFFER_BYTES = 16 * 1024


class RandomPool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._pid = os.getpid()

    def take(self, n: int) -> bytes:
        with self._lock:
            if os.getpid() != self._pid:  # never share a buffer with a forked child
                self._buffer, self._pid = b"", os.getpid()
            if len(self._buffer) < n:
                self._buffer = os.urandom(max(_BUFFER_BYTES, n))
            out, self._buffer = self._buffer[:n], self._buffer[n:]
            return out


_pool = RandomPool()


def random_hex(nbytes: int) -> str:
    return _pool.take(nbytes).hex()


def random_urlsafe(nbytes: int) -> str:
    return base64.urlsafe_b64encode(_pool.take(nbytes)).rstrip(b"=").decode()

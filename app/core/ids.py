"""Random identifiers for hot paths (decision ids, token jtis), from a buffered CSPRNG.

os.urandom is a system call, and on some machines a slow one (tens of microseconds); drawing
it a few kilobytes at a time keeps every id just as unpredictable at a fraction of the cost.
Secrets that guard something (admin tokens, CSRF tokens) still come from `secrets` directly.
"""

import base64
import os
import threading
import time

_BUFFER_BYTES = 16 * 1024


class RandomPool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._used = 0  # bytes of the buffer handed out
        # Never share a buffer with a forked child. A fork hook, not os.getpid() on every take:
        # glibc no longer caches the pid, so that was a system call per id.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()  # a thread of the parent may have held it at the fork
        self._buffer, self._used = b"", 0

    def take(self, n: int) -> bytes:
        with self._lock:
            start = self._used
            if len(self._buffer) - start < n:
                self._buffer, start = os.urandom(max(_BUFFER_BYTES, n)), 0
            # An offset, not `buffer = buffer[n:]`, which copied the rest of it on every take.
            self._used = start + n
            return self._buffer[start : start + n]


_pool = RandomPool()


def random_hex(nbytes: int) -> str:
    return _pool.take(nbytes).hex()


def random_urlsafe(nbytes: int) -> str:
    return base64.urlsafe_b64encode(_pool.take(nbytes)).rstrip(b"=").decode()


# base64url's characters in ASCII order: the same 64 characters, but a larger 6-bit group
# maps to a later character, so encoded big-endian numbers sort as text like the numbers do.
_URLSAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_IN_ASCII_ORDER = bytes.maketrans(_URLSAFE, bytes(sorted(_URLSAFE)))


def _time_prefix(ms: int) -> str:
    """Six bytes of milliseconds: exactly eight characters, no padding (6 is a multiple of 3)."""
    return base64.urlsafe_b64encode(ms.to_bytes(6, "big")).translate(_IN_ASCII_ORDER).decode()


def time_ordered_urlsafe(nbytes: int) -> str:
    """Eight characters of the time in milliseconds, then nbytes of the pool, URL-safe: ids
    made later sort later as text. A database index on them appends in one place instead of
    touching a random page for every new id (the token records' primary key)."""
    return _time_prefix(int(time.time() * 1000)) + random_urlsafe(nbytes)

"""A wall-clock deadline for one outbound HTTP request: connect, TLS, send and every read.

httpx's timeouts apply per socket operation, so a receiver that sends one byte every second
keeps a request (and the worker thread making it) alive for as long as it likes. Inside
`with deadline(seconds):` each socket operation of a client built by app/core/outbound.py
waits at most until the deadline, and none starts after it: the request ends with an httpx
timeout error at the deadline, whatever the receiver does.

The deadline is kept per thread: the sync httpx client does all of a request's socket work in
the calling thread, so a pooled client shared by worker threads still gives each its own.
"""

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

_local = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound the outbound requests made in this block by this thread; nested blocks keep the
    earlier of the two deadlines."""
    outer: float | None = getattr(_local, "at", None)
    mine = time.monotonic() + seconds
    _local.at = mine if outer is None else min(outer, mine)
    try:
        yield
    finally:
        _local.at = outer


def bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """The per-operation timeout, shortened to what is left before the deadline."""
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise expired("the delivery deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake honours the thread's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.SyncBackend):
    """httpcore's socket backend, with every connection wrapped in a DeadlineStream. It connects
    to addresses(host) in turn (a subclass may resolve and vet them), each within the deadline."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.addresses(host, port, timeout):
            left = bounded(timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(address, port, left, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
                continue
            return DeadlineStream(stream)
        raise last or httpcore.ConnectError(f"{host!r} resolved to no address")

    def addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        """Where to connect for host, in order: here the host itself, for the OS to resolve."""
        return [host]

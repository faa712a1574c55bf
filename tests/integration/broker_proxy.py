"""A TCP proxy in front of Redis that can stop the Celery broker's traffic and nothing else.

While `broker_down` is set, any connection that sends a broker command (kombu's LPUSH onto a
queue, or its `_kombu.binding.*` lookups) is cut, as if the broker had gone away; the
revocation-list lookups and pub/sub that share the same Redis pass. (With all of Redis gone
the agent could not even authenticate, because revocation checks fail closed; the outage that
can lose work is the one between the database commit and the enqueue.)

Given other `markers`, it cuts only the publishes that carry them (e.g. one request's id, which
Celery writes in plain text in the message's `argsrepr` header): one send fails, the rest pass.
"""

import contextlib
import socket
import threading
from dataclasses import dataclass, field

BROKER_MARKERS = (b"LPUSH", b"RPUSH", b"_kombu.binding")


@dataclass
class BrokerProxy:
    upstream: tuple[str, int]
    broker_down: threading.Event = field(default_factory=threading.Event)
    markers: tuple[bytes, ...] = BROKER_MARKERS  # what a cut connection carried
    cut: int = 0  # connections cut while the broker was down
    _listener: socket.socket | None = None

    @property
    def port(self) -> int:
        assert self._listener is not None
        return self._listener.getsockname()[1]

    def start(self) -> "BrokerProxy":
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:  # the server itself is gone: the client sees its connection closed
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if from_client and self.broker_down.is_set() and self._is_broker(data):
                    self.cut += 1
                    break
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _is_broker(self, data: bytes) -> bool:
        return any(marker in data for marker in self.markers)

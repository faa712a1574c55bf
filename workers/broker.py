"""kombu's Redis transport with one repair: a worker survives losing Redis while it holds
unacknowledged messages (issue 14 item 3).

When the connection drops, Celery releases it, and closing its channel makes kombu restore the
channel's unacknowledged messages (QoS.restore_unacked_once) through a new client built from
the connection it has just released: AttributeError("'NoneType' object has no attribute
'hostname'"), which Celery treats as unrecoverable, so the worker exits (the class of bug in
celery/kombu#970 and celery/celery#7705). Skipping that restore loses nothing: each message
is still in Redis's unacked hash, from which any worker hands it back once the visibility
timeout has passed (restore_visible), and tasks are idempotent; if Redis came back empty, no
restore could have reached it anyway, and the outbox relay re-sends what was owed.
"""

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)
_CONNECTION_ERRORS = kombu_redis.get_redis_error_classes().connection_errors


class QoS(kombu_redis.QoS):
    def _released(self) -> bool:
        transport = self.channel.connection
        return transport is None or transport.client is None

    def restore_unacked(self, client: Any = None) -> None:
        if client is None and self._released():
            self._skip("the broker connection is already released")
            return
        try:
            super().restore_unacked(client)
        except _CONNECTION_ERRORS as exc:
            self._skip(f"Redis is unreachable ({type(exc).__name__})")

    def ack(self, delivery_tag: Any) -> None:
        # A task that finishes after its channel's connection was lost cannot ack through it;
        # its message stays unacknowledged and comes back after the visibility timeout (the
        # task is idempotent), instead of the ack's AttributeError stopping the worker.
        if self._released():
            log.warning("ack after the broker connection was lost: the task may run again")
            self._delivered.pop(delivery_tag, None)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._released():
            log.warning("reject after the broker connection was lost: the task may run again")
            self._delivered.pop(delivery_tag, None)
            return
        super().reject(delivery_tag, requeue=requeue)

    def _skip(self, why: str) -> None:
        log.warning(
            "not restoring %d unacknowledged message(s) now: %s; Redis hands them back after "
            "the visibility timeout",
            len(self._delivered),
            why,
        )
        self._delivered.clear()


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel

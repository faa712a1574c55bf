"""Background batch writers: hot paths hand rows to a thread that writes them in few transactions.

Items leave the buffer only under the write lock, so flush() returns once everything submitted
before it is durable, and raises WriteBacklog when it cannot be (the caller must not read as if
it were). The database being unreachable or busy (a transient error) never loses anything:
the batch waits and is retried. A batch that keeps failing otherwise is written item by item;
an item that still fails on its own is logged and dropped, so one bad row never blocks the rest;
what its writer can salvage of it (`salvage`: e.g. a token record's replay claim) is written instead.

A bounded writer (`bound`) makes its callers wait for room (room()) instead of growing without
limit; with a `key` (the audit writer's: the org), each key has its own share of the bound, so
one key's backlog makes only its own callers wait (app/core/room.py).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

from app.core.room import Hold, Room, WriteBacklog

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_BATCH_ATTEMPTS = 5
# Connection lost, server down, database locked: the rows are fine, the database is not.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
__all__ = ["MAX_BATCH_ATTEMPTS", "TRANSIENT_ERRORS", "BatchWriter", "WriteBacklog"]


class BatchWriter(Generic[T]):
    def __init__(
        self,
        name: str,
        write: Callable[[list[T]], None],
        *,
        interval: float = 0.02,
        batch: int = 500,
        salvage: Callable[[T], T | None] | None = None,
        bound: int | None = None,
        key: Callable[[T], str | None] | None = None,
    ) -> None:
        self._name = name
        self._key = key  # whose share an item counts against (None: no one's, the total only)
        self._write = write
        self._salvage = salvage
        self._buffer: list[T] = []
        self._ready = threading.Condition()
        self._write_lock = threading.Lock()
        self._interval = interval
        self._batch = batch
        self._failures = 0
        self._stalled = False  # the last write attempt failed: items wait in the buffer
        self._thread: threading.Thread | None = None
        # Under self._ready's lock, as the buffer is: a waiter's check and its registering
        # happen at one time, so the writer's wake-up cannot fall between them.
        self._room = Room(name, bound, keyed=key is not None, lock=self._ready)

    @property
    def bound(self) -> int | None:
        """Items waiting beyond which room() makes its callers wait (None: never)."""
        return self._room.bound

    @bound.setter
    def bound(self, value: int | None) -> None:
        self._room.bound = value

    def _key_of(self, item: T) -> str | None:
        return self._key(item) if self._key is not None else None

    def submit(self, item: T) -> None:
        with self._ready:
            self._buffer.append(item)
            self._room.added(self._key_of(item))
            # The thread waits only for an empty buffer (checked under this lock): wake it for
            # the first item only. notify() on every item cost a token ~1 µs of lock handling.
            if len(self._buffer) == 1:
                self._ready.notify()
            # Not is_alive(): on a busy process that call can hand the GIL to another thread
            # and cost more than the check it is part of. The loop in _run never exits.
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    async def room(self, key: str | None = None, *, items: int = 1, timeout: float) -> None:
        """Return once `items` more items fit (under `key`'s share, if the writer has a key),
        awaiting, not blocking the event loop; WriteBacklog at once if the writer's last attempt
        failed, or if it has written nothing for `timeout` seconds while this caller waited.

        A route that makes items faster than the database takes them is slowed to its pace
        instead of growing the buffer, and the process's memory, without limit. Waiters are
        let through in the order they came (per key), as the writer makes room for them.
        Nothing queued is dropped either way.
        """
        async with self._room.hold(key, items, timeout=timeout):
            pass

    def hold(
        self,
        key: str | None = None,
        *,
        items: int = 1,
        timeout: float,
        on_wait: Callable[[], None] | None = None,
    ) -> Hold:
        """room(), keeping the room reserved until the block is left: submit the items inside
        it. A caller that awaits between room() and submit() would otherwise leave its room to
        every caller that comes meanwhile, and together they could pass the bound many times."""
        return self._room.hold(key, items, timeout=timeout, on_wait=on_wait)

    def _take(self) -> list[T]:
        with self._ready:
            items, self._buffer = self._buffer[: self._batch], self._buffer[self._batch :]
            for item in items:
                self._room.removed(self._key_of(item))
            return items

    def _write_some(self) -> int:
        """Write one batch; how many items it held (0: nothing queued, or the write failed)."""
        with self._write_lock:
            self._stalled = True  # until this attempt is known to have written or found nothing
            items = self._take()
            if not items:
                self._stalled = False
                return 0
            try:
                self._write(items)
            except TRANSIENT_ERRORS:
                log.warning("%s: database unavailable; %d items wait", self._name, len(items))
                self._requeue(items)
                return 0
            except Exception:
                self._failures += 1
                if self._failures < MAX_BATCH_ATTEMPTS:
                    log.exception("%s: writing %d items failed; will retry", self._name, len(items))
                    self._requeue(items)
                    return 0
                if not self._write_one_by_one(items):
                    return 0
            self._failures = 0
            self._stalled = False
            self._room.progressed()
            return len(items)

    def _requeue(self, items: list[T]) -> None:
        with self._ready:
            self._buffer[:0] = items
            self._room.failed()  # items come back only from a failed write (first: no new work)
            for item in items:
                self._room.added(self._key_of(item))
            # A flush's failed write puts back items the thread may not know of: it may be
            # waiting for an empty buffer to fill, and later submits wake it for a first item only.
            self._ready.notify()

    def _write_one_by_one(self, items: list[T]) -> bool:
        """Drop only the items that fail on their own; stop (keeping the rest) if the database
        itself fails meanwhile."""
        for index, item in enumerate(items):
            try:
                self._write([item])
            except TRANSIENT_ERRORS:
                self._requeue(items[index:])
                return False
            except Exception:
                log.exception("%s: dropping an item that cannot be written: %r", self._name, item)
                if not self._write_salvaged(item):
                    self._requeue(items[index + 1 :])
                    return False
        return True

    def _write_salvaged(self, item: T) -> bool:
        """Write what can be kept of a dropped item; False if the database itself failed (the
        salvaged item is then queued again, at the front)."""
        rescued = self._salvage(item) if self._salvage is not None else None
        if rescued is None:
            return True
        try:
            self._write([rescued])
        except TRANSIENT_ERRORS:
            self._requeue([rescued])
            return False
        except Exception:
            log.exception("%s: dropping what was salvaged too: %r", self._name, rescued)
        return True

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._buffer:
                    self._ready.wait()
            time.sleep(self._interval)
            try:
                self._write_backlog()
            except Exception:  # a bug in the bookkeeping must not end the writing for good
                log.exception("%s: the writer's loop failed; it goes on", self._name)
                time.sleep(0.5)

    def _write_backlog(self) -> None:
        """A backlog of more than one batch is written batch after batch, not one batch per
        interval: at a rate above batch/interval (5,000 audit events a second) the queue would
        otherwise grow without bound, and drain only in bursts. Only a full batch means a
        backlog: items that arrived while a smaller batch was written wait for the next
        interval. (Writing them at once made the writers commit a transaction for every
        request or two under load: 60-120 µs of a token's CPU instead of ~25.)"""
        while True:
            written = self._write_some()
            if not written:
                time.sleep(0.5)  # the write failed (or a flush took everything): back off
                return
            if written < self._batch or not self._buffer:
                return
            time.sleep(0)  # between batches, let the requests have the GIL

    def flush(self) -> None:
        """Make everything submitted so far durable.

        Call it with no write transaction open in this thread: with SQLite that transaction
        would hold the lock this write waits for.
        """
        # Take the write lock at least once: the thread may hold a batch it has not committed.
        while self._write_some():
            pass
        if self._stalled:
            raise WriteBacklog(f"{self._name}: {self.pending()} items could not be written yet")

    def queued(self, key: str | None) -> int:
        """Items queued under `key` (None: those added without a key)."""
        return self._room.queued(key)

    def pending(self) -> int:
        with self._ready:
            return len(self._buffer)

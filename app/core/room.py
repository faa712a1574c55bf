"""Room in a bounded write queue: callers wait in order until the writer has made room for them.

A caller about to add items to a BatchWriter holds room first (`async with hold(...)`). It
passes at once while its items fit; otherwise it queues (first come, first let through, per key) as a future of its own
event loop, and the writer's thread, after each batch it writes, wakes as many of the queued as
now fit (call_soon_threadsafe: a waiter may belong to any loop of the process). Nobody polls:
a thousand waiters during an outage cost nothing until they are woken or time out.

A caller let through (at once or by the writer) holds its items' room, reserved, until it leaves
hold(): by then the items it added count as queued. A caller that awaits between passing and
adding (a thread-pool hop) so cannot be overtaken by any number of others taking the same room.

With keys (an org's id), each key has its share of the bound: a key waits only while its own
queued items fill its share, bound // active keys but at least MIN_SHARE, or while everything
queued reaches HARD_CAP_BOUNDS bounds, which keeps the memory bounded however many keys there
are. So one key's backlog makes only that key's callers wait. Items added without a key (None)
count toward the total only.

Everything here runs under the writer's buffer lock (`lock`), so a caller's check and its
registration happen at one time: a batch written between them cannot leave it asleep.
"""

import asyncio
import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# The least share of a key however many are active: a burst of a few dozen checks never waits.
MIN_SHARE = 64
# Queued items, in bounds, beyond which every key waits, however little of its share it uses.
HARD_CAP_BOUNDS = 2
# A waiter kept out only by room that requests in flight hold (nothing queued, so nothing
# stalled) waits this many timeouts for them to give it back before it is refused.
HELD_PATIENCE = 5


class WriteBacklog(Exception):
    """The queued items could not be made durable (flush), or no room was made for more
    (room): they stay queued and are retried."""


@dataclass(eq=False)
class _Waiter:
    key: str | None
    items: int
    loop: asyncio.AbstractEventLoop
    future: "asyncio.Future[None]"
    since: float
    timer: asyncio.TimerHandle | None = field(default=None)
    let_through: bool = False  # by the writer's thread, which resolves the future on its loop


def _resolve(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


class Hold:
    """`async with room.hold(...)`: a class, not a generator, as it is on every check's path."""

    __slots__ = ("_room", "_key", "_items", "_timeout", "_on_wait")

    def __init__(
        self,
        room: "Room",
        key: str | None,
        items: int,
        timeout: float,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self._room, self._key, self._items, self._timeout = room, key, items, timeout
        self._on_wait = on_wait

    async def __aenter__(self) -> None:
        await self._room._wait(self._key, self._items, timeout=self._timeout, on_wait=self._on_wait)

    async def __aexit__(self, *exc_info: object) -> None:
        self._room._unreserve(self._key, self._items)


class Room:
    def __init__(self, name: str, bound: int | None, *, keyed: bool, lock: threading.Condition):
        self.name = name
        self.bound = bound
        self._keyed = keyed
        self._lock = lock
        self.total = 0
        self._per_key: dict[str, int] = {}
        self._unkeyed = 0  # items added without a key
        # In the order each key's first waiter came (a key whose queue empties leaves).
        self._waiters: collections.OrderedDict[str | None, collections.deque[_Waiter]] = (
            collections.OrderedDict()
        )
        # Items of waiters let through whose callers have not resumed (and added them) yet:
        # counted as queued, or a caller coming meanwhile would take the same room.
        self._reserved_total = 0
        self._reserved: dict[str | None, int] = {}
        self._failing = False  # the writer's last attempt failed
        self._progress = time.monotonic()  # when the writer last wrote a batch

    # The writer's side, under the lock: counts exact per key (+1 queued, -1 taken, +1 requeued).
    def added(self, key: str | None) -> None:
        if self.total == 0 and not self._failing:
            # Work arrives: the writer's clock starts now, not at its last batch (a failed
            # batch put back is no new work: its clock keeps running)
            self._progress = time.monotonic()
        self.total += 1
        if key is None:
            self._unkeyed += 1
        else:
            self._per_key[key] = self._per_key.get(key, 0) + 1

    def removed(self, key: str | None) -> None:
        self.total -= 1
        if key is None:
            self._unkeyed = max(self._unkeyed - 1, 0)
        else:
            left = self._per_key.get(key, 0) - 1
            if left > 0:
                self._per_key[key] = left
            else:
                self._per_key.pop(key, None)

    def failed(self) -> None:
        self._failing = True

    def progressed(self) -> None:
        """A batch was written: wake the waiters it made room for."""
        with self._lock:
            self._failing = False
            self._progress = time.monotonic()
            self._release()

    def queued(self, key: str | None) -> int:
        return self._unkeyed if key is None else self._per_key.get(key, 0)

    # The callers' side.
    def hold(
        self,
        key: str | None,
        items: int,
        *,
        timeout: float,
        on_wait: Callable[[], None] | None = None,
    ) -> "Hold":
        """Wait for room for `items` (under `key`'s share) and keep it reserved inside the block:
        on leaving, the items added meanwhile count as queued and the rest is room again.
        `on_wait` is called once if the caller has to wait, before it does."""
        return Hold(self, key if self._keyed else None, items, timeout, on_wait)

    async def _wait(
        self,
        key: str | None,
        items: int,
        *,
        timeout: float,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        """Return with `items` reserved under `key` (WriteBacklog: nothing reserved)."""
        with self._lock:
            if not self._waiters.get(key) and self._fits(key, items):
                self._reserve(key, items)
                return
            if self._failing:  # the database is down or refusing: no use waiting for it
                raise WriteBacklog(f"{self.name}: the last write failed; {self.total} items wait")
            loop = asyncio.get_running_loop()
            waiter = _Waiter(key, items, loop, loop.create_future(), time.monotonic())
            self._waiters.setdefault(key, collections.deque()).append(waiter)
            self._release()  # those ahead of it may fit by now, with no batch to tell them
        try:
            if on_wait is not None and not waiter.let_through:
                on_wait()  # in the try: should it fail, the waiter is forgotten, not left queued
            waiter.timer = loop.call_later(timeout, self._expire, waiter, timeout)
            await waiter.future
        except BaseException:
            with self._lock:  # out of the queue first: the writer cannot let it through after
                self._forget(waiter)
                if waiter.let_through:  # reserved for it, but it never resumed (cancelled)
                    self._unreserve(key, items)
            raise
        finally:
            if waiter.timer is not None:
                waiter.timer.cancel()
            self._forget(waiter)

    def _fits(self, key: str | None, items: int) -> bool:
        if self.bound is None:  # unbounded since (a test, a setting): everyone fits
            return True
        total = self.total + self._reserved_total
        if key is None:  # unkeyed: the bound; in a keyed room (no key known yet): the hard cap
            return total + items <= (HARD_CAP_BOUNDS if self._keyed else 1) * self.bound
        if total + items > HARD_CAP_BOUNDS * self.bound:
            return False
        own = self._per_key.get(key, 0) + self._reserved.get(key, 0)
        # A key with nothing queued may always add its request's items (a bulk of 100 checks
        # past a share of 64), or it could never pass.
        if own == 0:
            return True
        # Keys with items queued or held, this one among them (None's, held for the total
        # only, is no one's share): counted without building a set of every key on each check.
        active = len(self._per_key) + sum(
            1 for held in self._reserved if held is not None and held not in self._per_key
        )
        return own + items <= max(self.bound // active, MIN_SHARE)

    def _release(self) -> None:
        """Let through, in order, as many waiters of each key as fit (under the lock); the key
        whose first waiter came first goes first, so no key overtakes another at the hard cap.
        Keys are kept in the order their first waiter came: once one's first waiter does not
        fit past the hard cap, no later key's would (each needs at least one item)."""
        for key in list(self._waiters):
            queue = self._waiters[key]
            while queue and self._fits(key, queue[0].items):
                waiter = queue.popleft()
                self._let_through(waiter)
            if queue:
                if self._over_hard_cap():
                    break
            else:
                del self._waiters[key]

    def _over_hard_cap(self) -> bool:
        return (
            self.bound is not None
            and self.total + self._reserved_total >= HARD_CAP_BOUNDS * self.bound
        )

    def _let_through(self, waiter: _Waiter) -> None:
        waiter.let_through = True
        self._reserve(waiter.key, waiter.items)
        try:
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
        except RuntimeError:  # its loop closed: nobody waits, nobody will use the room
            waiter.let_through = False
            self._reserve(waiter.key, -waiter.items)

    def _reserve(self, key: str | None, items: int) -> None:
        with self._lock:
            self._reserved_total += items
            left = self._reserved.get(key, 0) + items
            if left > 0:
                self._reserved[key] = left
            else:
                self._reserved.pop(key, None)

    def _unreserve(self, key: str | None, items: int) -> None:
        """Give back a caller's reservation; its added items count as queued now."""
        with self._lock:
            self._reserve(key, -items)
            self._release()

    def _expire(self, waiter: _Waiter, timeout: float) -> None:
        """On the waiter's loop, `timeout` after it came or last looked: refuse it only if the
        writer has written nothing for that long (stalled, not slow); otherwise look again."""
        with self._lock:
            if waiter.let_through or waiter.future.done():
                return
            now = time.monotonic()
            if self._fits(waiter.key, waiter.items):
                self._forget(waiter)
                waiter.let_through = True
                self._reserve(waiter.key, waiter.items)
                waiter.future.set_result(None)
            elif self._failing or (self.total and now - self._progress >= timeout):
                self._refuse(waiter, f"no batch written in {timeout:g} s")
            elif self.total == 0 and now - waiter.since >= HELD_PATIENCE * timeout:
                # Nothing stalled, but room held by requests in flight was not given back
                self._refuse(waiter, "room held by requests in flight")
            else:
                # Only held room (an idle, healthy writer) or a writer within its time: again
                later = (self._progress + timeout - now) if self.total else timeout
                waiter.timer = waiter.loop.call_later(later, self._expire, waiter, timeout)

    def _refuse(self, waiter: _Waiter, why: str) -> None:
        self._forget(waiter)
        waiter.future.set_exception(WriteBacklog(f"{self.name}: {why}"))

    def _forget(self, waiter: _Waiter) -> None:
        with self._lock:
            queue = self._waiters.get(waiter.key)
            if queue is None:
                return
            try:
                queue.remove(waiter)
            except ValueError:  # already let through
                return
            if not queue:
                del self._waiters[waiter.key]

"""Room in a bounded BatchWriter: waiters in order, woken by the writer, a share per key."""

import asyncio
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy.exc import OperationalError

from app.core.batching import BatchWriter, WriteBacklog
from app.core.room import MIN_SHARE
from tests.helpers import queue_in_room, unqueue_from_room


def _slow_write(seconds: float, written: list | None = None):
    def write(items: list) -> None:
        time.sleep(seconds)
        if written is not None:
            written.extend(items)

    return write


def _database_down(items: list) -> None:
    raise OperationalError("INSERT", {}, ConnectionError("database down"))


def _wait_for(condition, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_waiters_are_let_through_in_the_order_they_came():
    # Given a full writer that writes one item a batch ...
    writer = BatchWriter("t-fifo", _slow_write(0.02), interval=0.01, batch=1, bound=2)
    for item in ("a", "b"):
        writer.submit(item)
    order: list[int] = []

    async def caller(index: int) -> None:
        await writer.room(timeout=5)
        order.append(index)
        writer.submit(index)

    async def main() -> None:
        tasks = []
        for index in range(6):  # ... when six callers come one after another
            tasks.append(asyncio.create_task(caller(index)))
            await asyncio.sleep(0.001)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    # then they pass in the order they came
    assert order == [0, 1, 2, 3, 4, 5]


def test_a_slow_but_healthy_writer_lets_every_waiter_through_past_the_timeout():
    # Given a writer that writes a batch of one item every ~0.1 s, and callers that would
    # all be let through only after 2 s in all ...
    writer = BatchWriter("t-slow", _slow_write(0.08), interval=0.01, batch=1, bound=1)
    writer.submit("first")

    async def caller(index: int) -> float:
        started = time.monotonic()
        await writer.room(timeout=0.5)
        writer.submit(index)
        return time.monotonic() - started

    async def main() -> list[float]:
        return await asyncio.gather(*(caller(i) for i in range(20)))

    waits = asyncio.run(main())
    # then none was refused (the writer kept making progress), though some waited past 0.5 s
    assert max(waits) > 0.5


def test_a_stalled_writer_refuses_new_waiters_at_once():
    # Given a full writer whose last write failed (the database is down) ...
    writer = BatchWriter("t-stalled", _database_down, interval=0.01, bound=10)
    for item in range(10):
        writer.submit(item)
    _wait_for(lambda: writer._room._failing)

    async def caller() -> bool:
        try:
            await writer.room(timeout=5)
        except WriteBacklog:
            return True
        return False

    async def main() -> list[bool]:
        return await asyncio.gather(*(caller() for _ in range(1000)))

    # ... when a thousand callers want room, then each is refused at once, none waits 5 s
    started = time.monotonic()
    refused = asyncio.run(main())
    assert all(refused) and time.monotonic() - started < 1
    assert writer.pending() == 10  # nothing dropped


# The first look is without the lock, the second under it, just before registering.
@pytest.mark.parametrize("at_look", [1, 2])
def test_a_waiter_that_registers_just_as_room_appears_is_woken_at_once(at_look):
    # Given a full writer whose queued item the test writes itself ...
    writer = BatchWriter("t-race", lambda items: None, interval=60, bound=1)
    writer._thread = threading.current_thread()  # no writer thread: the test plays its part
    writer.submit("a")
    checks = writer._room._fits
    raced: list[threading.Thread] = []
    looks: list[int] = []

    def fits_while_a_batch_is_written(*args, **kwargs):
        # ... when the writer writes the item just as the caller looks for room (under the
        # lock, its thread blocks until the caller has registered)
        looks.append(1)
        found = checks(*args, **kwargs)
        if len(looks) == at_look:
            writer_thread = threading.Thread(target=writer._write_some)
            raced.append(writer_thread)
            writer_thread.start()
            writer_thread.join(0.1)
        return found

    writer._room._fits = fits_while_a_batch_is_written
    started = time.monotonic()
    asyncio.run(writer.room(timeout=5))
    # then the caller is woken by that batch, not at its 5 s deadline
    assert time.monotonic() - started < 1
    assert raced and writer.pending() == 0


def test_one_key_filling_its_share_does_not_make_another_key_wait():
    # Given a writer that keeps up slowly (a batch takes 0.3 s), keyed by the item itself,
    # and 200 concurrent callers of key A ...
    writer = BatchWriter(
        "t-share", _slow_write(0.3), interval=0.05, bound=50, key=lambda item: item
    )
    waits: list[float] = []

    async def flood(stop: float) -> None:
        while time.monotonic() < stop:
            await writer.room("A", timeout=5)
            writer.submit("A")
            await asyncio.sleep(0)

    async def victim(stop: float) -> None:
        await asyncio.sleep(0.3)
        while time.monotonic() < stop:
            started = time.monotonic()
            await writer.room("B", timeout=5)
            waits.append(time.monotonic() - started)
            writer.submit("B")
            await asyncio.sleep(0.1)

    async def main() -> None:
        stop = time.monotonic() + 1.5
        await asyncio.gather(victim(stop), *(flood(stop) for _ in range(200)))

    asyncio.run(main())
    # then key B's callers never waited for key A's backlog
    assert waits and max(waits) < 0.05
    writer.flush()


def test_a_key_waits_at_its_share_and_every_key_at_twice_the_bound():
    writer = BatchWriter("t-caps", lambda items: None, interval=60, bound=200, key=lambda i: i)
    writer._thread = threading.current_thread()  # nothing is written in this test
    room = writer._room
    for _ in range(100):  # A holds its share of 200 // 2 active keys
        writer.submit("A")
    writer.submit("B")
    assert not room._fits("A", 1) and room._fits("B", 1) and room._fits("C", 1)
    for _ in range(299):  # 400 queued in all: twice the bound
        writer.submit(None)  # counted toward the total only, no key's share
    assert room.total == 400 and room.queued("A") == 100
    assert not room._fits("B", 1) and not room._fits("C", 1)


def test_a_share_is_never_less_than_its_minimum():
    writer = BatchWriter("t-min", lambda items: None, interval=60, bound=100, key=lambda i: i)
    writer._thread = threading.current_thread()
    for key in ("A", "B", "C", "D"):  # 100 // 4 = 25, below the minimum share
        writer.submit(key)
    for _ in range(MIN_SHARE - 2):
        writer.submit("A")
    assert writer._room._fits("A", 1) and not writer._room._fits("A", 2)


def test_a_key_with_nothing_queued_may_add_more_than_its_share_at_once():
    writer = BatchWriter("t-bulk", lambda items: None, interval=60, bound=64, key=lambda i: i)
    writer._thread = threading.current_thread()
    writer.submit("A")
    assert writer._room._fits("B", 100)  # a bulk of 100 past a share of 64: it could never pass
    assert not writer._room._fits("A", 100)


def test_per_key_counts_follow_items_taken_and_put_back():
    writer = BatchWriter(
        "t-counts", _database_down, interval=60, batch=2, bound=100, key=lambda i: i[0]
    )
    writer._thread = threading.current_thread()
    for item in ("a1", "a2", "b1"):
        writer.submit(item)
    taken = writer._take()
    assert writer._room.queued("a") == 0 and writer._room.queued("b") == 1
    writer._requeue(taken)
    assert writer._room.queued("a") == 2 and writer._room.total == 3
    with pytest.raises(WriteBacklog):
        writer.flush()
    assert writer._room.queued("a") == 2 and writer._room.queued("b") == 1


def test_waiters_of_several_event_loops_are_woken_on_their_own_loops():
    # Given a full writer, and callers waiting on event loops of three threads ...
    writer = BatchWriter("t-loops", _slow_write(0.05), interval=0.2, batch=1, bound=1)
    writer.submit("first")
    results: list[str] = []

    def thread_main(name: str) -> None:
        async def wait() -> None:
            await writer.room(timeout=5)
            writer.submit(name)
            results.append(name)

        asyncio.run(wait())

    threads = [threading.Thread(target=thread_main, args=(str(i),)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # then every one is let through (each future resolved on the loop that made it)
    assert sorted(results) == ["0", "1", "2"]


def test_a_cancelled_waiter_leaves_the_queue():
    writer = BatchWriter("t-cancel", _database_down, interval=60, bound=1)
    writer._thread = threading.current_thread()
    writer.submit("a")

    async def main() -> None:
        task = asyncio.create_task(writer.room(timeout=5))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not writer._room._waiters


def test_room_made_for_a_waiter_is_its_own_until_it_resumes():
    # Given a key at its share, and one of its callers waiting ...
    writer = BatchWriter(
        "t-reserve", lambda items: None, interval=60, batch=1, bound=100, key=lambda i: i
    )
    writer._thread = threading.current_thread()  # the test writes
    for _ in range(100):
        writer.submit("A")
    room = writer._room

    async def main() -> None:
        waiting = asyncio.create_task(writer.room("A", timeout=5))
        await asyncio.sleep(0.01)
        # ... when the writer writes one item and lets that caller through
        writer._write_some()
        assert writer._room.queued("A") == 99
        # then, until the caller has resumed, nobody else fits in the room made for it
        assert not waiting.done() and not room._fits("A", 1)
        await waiting
        assert room._reserved_total == 0

    asyncio.run(main())


def test_waiters_pass_when_the_bound_is_lifted_while_they_wait():
    # Given a caller waiting on a full writer ...
    writer = BatchWriter("t-lifted", lambda items: None, interval=0.05, bound=1)
    writer.submit("a")

    async def main() -> None:
        waiting = asyncio.create_task(writer.room(timeout=5))
        await asyncio.sleep(0.01)
        writer.bound = None  # ... when the bound is lifted
        await asyncio.wait_for(waiting, 2)  # then the writer's next batch still lets it pass

    asyncio.run(main())
    writer.submit("b")
    writer.flush()
    assert writer.pending() == 0  # and the writer's thread is alive and writing


def _unwritten(name: str, bound: int) -> BatchWriter:
    """A keyed writer whose thread never starts: nothing queued is written."""
    writer = BatchWriter(name, lambda items: None, interval=60, bound=bound, key=lambda i: i)
    writer._thread = threading.current_thread()
    return writer


async def _evaluations(writer: BatchWriter, key: str, passed: list[int]) -> None:
    """An AuthZEN request of 100 evaluations: it holds room, then decides in a thread."""
    async with writer.hold(key, items=100, timeout=0.2):
        passed.append(1)
        await asyncio.sleep(0.05)
        for _ in range(100):
            writer.submit(key)


def test_callers_that_await_before_they_submit_hold_their_room_meanwhile():
    # Given a writer bound to 300 items that writes nothing ...
    writer = _unwritten("t-hold", 300)
    passed: list[int] = []

    async def main() -> list:
        # ... when 30 requests of 100 come at once
        callers = (_evaluations(writer, "A", passed) for _ in range(30))
        return await asyncio.gather(*callers, return_exceptions=True)

    results = asyncio.run(main())
    # then only as many pass as the bound holds; the others are refused, nothing more queued
    assert len(passed) == 3
    assert sum(isinstance(r, WriteBacklog) for r in results) == 27
    assert writer._room.queued("A") == 300
    assert writer._room._reserved_total == 0


def test_an_org_whose_callers_hold_room_does_not_make_another_org_wait():
    # Given one org's 12 requests of 100 holding room in a writer bound to 300 ...
    writer = _unwritten("t-hold-two", 300)
    passed: list[int] = []

    async def other_org() -> None:
        await asyncio.sleep(0.1)  # ... when another org's single caller comes after
        async with writer.hold("B", timeout=0.2):
            writer.submit("B")

    async def main() -> list:
        callers = [_evaluations(writer, "A", passed) for _ in range(12)]
        return await asyncio.gather(*callers, other_org(), return_exceptions=True)

    results = asyncio.run(main())
    # then it passes: the first org took no more than its share
    assert results[-1] is None
    assert writer._room.queued("A") == 300 and writer._room.queued("B") == 1


def test_an_idle_writer_does_not_refuse_a_caller_that_waits_only_for_held_room():
    # Given a healthy writer with nothing queued, whose room is held by a request in flight
    # longer than a waiter's timeout (a slow bulk check that has not submitted yet) ...
    writer = _unwritten("t-idle", 128)

    async def holder() -> None:
        async with writer.hold("A", items=128, timeout=0.2):
            await asyncio.sleep(0.5)

    async def second() -> float:
        await asyncio.sleep(0.05)
        started = time.monotonic()
        async with writer.hold("A", timeout=0.2):
            writer.submit("A")
        return time.monotonic() - started

    async def main() -> list:
        return await asyncio.gather(holder(), second(), return_exceptions=True)

    results = asyncio.run(main())
    # then the second caller passes once the room is given back: nothing was stalled
    assert not isinstance(results[1], BaseException), results
    assert results[1] >= 0.3


def test_a_caller_held_out_by_room_that_is_never_given_back_is_refused_in_the_end():
    writer = _unwritten("t-held-long", 128)

    async def main() -> None:
        async with writer.hold("A", items=128, timeout=0.05), writer.hold("A", timeout=0.05):
            pass

    with pytest.raises(WriteBacklog):
        asyncio.run(main())


def _full_room(name: str):
    """A keyed room of bound 100 with 100 items of key "A" queued."""
    from app.core.room import Room

    room = Room(name, 100, keyed=True, lock=threading.Condition(threading.RLock()))
    for _ in range(100):
        room.added("A")
    return room


@contextmanager
def _every(seconds: float, beat):
    """Run `beat` on a thread every `seconds` (the writer's side) while inside."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(seconds):
            beat()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_a_waiter_behind_a_slow_but_writing_writer_is_not_refused_after_five_timeouts():
    # Given a room full of queued items whose writer writes a batch every 20 ms ...
    room = _full_room("t-slow-writing")

    async def main() -> str:
        try:
            # (a timeout far above the writer's pace: a busy machine may delay its thread)
            await asyncio.wait_for(room._wait("A", 1, timeout=0.25), timeout=1.6)
        except TimeoutError:
            return "still waiting"
        except WriteBacklog as refused:
            return f"refused: {refused}"
        return "passed"

    with _every(0.02, room.progressed):
        # then past five of its timeouts it still waits (slow, not stalled)
        assert asyncio.run(main()) == "still waiting"


def test_a_waiter_behind_a_failing_writer_is_refused_within_its_timeout():
    # Given a room whose writer fails and puts its batch back every 20 ms ...
    room = _full_room("t-failing")

    def fail_and_put_back() -> None:
        with room._lock:
            for _ in range(100):
                room.removed("A")
            room.failed()
            for _ in range(100):
                room.added("A")

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(WriteBacklog, match="no batch written"):
            await room._wait("A", 1, timeout=0.05)
        return time.monotonic() - started

    with _every(0.02, fail_and_put_back):
        # then it is refused as stalled within about one timeout, not kept waiting by requeues
        assert asyncio.run(main()) < 0.2


def test_a_caller_cancelled_after_it_was_let_through_gives_its_room_back():
    writer = _unwritten("t-cancel", 100)
    for _ in range(100):
        writer.submit("A")

    async def main() -> None:
        waiting = asyncio.create_task(writer.room("A", timeout=5))
        await asyncio.sleep(0.01)
        writer._write_some()  # one item written: the caller is let through ...
        waiting.cancel()  # ... but cancelled before it resumed
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(main())
    assert writer._room._reserved_total == 0 and not writer._room._waiters


def test_a_waiter_whose_loop_closed_leaves_no_reservation_behind():
    writer = _unwritten("t-closed", 100)
    for _ in range(100):
        writer.submit("A")
    loop = asyncio.new_event_loop()
    task = loop.create_task(writer.room("A", timeout=5))
    loop.run_until_complete(asyncio.sleep(0.01))  # the caller waits ...
    loop.close()  # ... and its loop is gone before the writer makes room
    writer._write_some()
    assert writer._room._reserved_total == 0
    del task


def test_the_writer_thread_survives_a_failure_of_its_bookkeeping(monkeypatch):
    # Given a writer whose room fails once after a batch ...
    writer = BatchWriter("t-survive", lambda items: None, interval=0.01, bound=10)
    calls = []

    def progressed() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the bookkeeping")

    monkeypatch.setattr(writer._room, "progressed", progressed)
    writer.submit("a")
    _wait_for(lambda: calls)
    # ... when more items come, then the thread still writes them
    writer.submit("b")
    _wait_for(lambda: len(calls) >= 2)
    assert writer.pending() == 0


def test_a_caller_is_told_before_it_waits_and_only_then():
    # Given a writer with room for one item ...
    writer = BatchWriter("t-on-wait", _slow_write(0), interval=60, batch=1, bound=1)
    room = writer._room
    told: list[str] = []

    def second_is_told() -> None:
        # (told while it is queued, before anything let it through)
        assert list(room._waiters) == [None] and not room._waiters[None][0].let_through
        told.append("second")
        # the room frees a moment later, as the writer would after writing a batch
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, lambda: (unqueue_from_room(room, None, 1), room.progressed()))

    async def main() -> None:
        # ... a caller that fits is never told it waits
        async with writer.hold(timeout=5, on_wait=lambda: told.append("first")):
            pass
        # ... one that finds the room taken is told once, before it waits, and then passes
        queue_in_room(room, None, 1)
        async with writer.hold(timeout=5, on_wait=second_is_told):
            pass

    asyncio.run(main())
    assert told == ["second"]


def test_a_caller_whose_on_wait_fails_leaves_no_waiter_behind():
    # Given a writer whose one place is taken ...
    writer = BatchWriter("t-on-wait-fails", _slow_write(0.05), interval=0.01, batch=1, bound=1)

    def fails() -> None:
        raise RuntimeError("on_wait failed")

    async def main() -> None:
        writer.submit("a")
        # ... when a caller's on_wait fails before it waits, the caller hears it ...
        with pytest.raises(RuntimeError):
            async with writer.hold(timeout=5, on_wait=fails):
                pass
        # ... and leaves no waiter queued ahead of the next caller, who passes
        async with writer.hold(timeout=5):
            writer.submit("b")

    asyncio.run(main())
    assert not writer._room._waiters and not writer._room._reserved
    writer.flush()

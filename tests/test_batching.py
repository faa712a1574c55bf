"""The background batch writer behind audit events, issued-token records and replay claims."""

import asyncio
import time

import pytest
from sqlalchemy.exc import OperationalError

from app.core.batching import MAX_BATCH_ATTEMPTS, BatchWriter, WriteBacklog


def _flush_until_done(writer: BatchWriter, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            writer.flush()
            return
        except WriteBacklog:
            pass
    raise AssertionError("the writer never caught up")


def test_flush_makes_every_submitted_item_durable():
    written: list[str] = []
    writer = BatchWriter("t-flush", written.extend, interval=10)
    for item in ("a", "b", "c"):
        writer.submit(item)
    writer.flush()
    assert written == ["a", "b", "c"] and writer.pending() == 0


def test_a_failing_batch_is_retried_then_written_item_by_item_dropping_only_the_bad_one():
    written: list[str] = []
    attempts = 0

    def write(items: list[str]) -> None:
        nonlocal attempts
        attempts += 1
        if "bad" in items:
            raise ValueError("cannot store this one")
        written.extend(items)

    writer = BatchWriter("t-dead-letter", write, interval=10)
    for item in ("a", "bad", "b"):
        writer.submit(item)
    _flush_until_done(writer)
    assert written == ["a", "b"]
    assert writer.pending() == 0
    assert attempts >= MAX_BATCH_ATTEMPTS  # retried as a batch before giving up on "bad"


def test_flush_raises_while_the_items_cannot_be_written_and_keeps_them():
    written: list[str] = []
    fail = {"left": 1}

    def write(items: list[str]) -> None:
        if fail["left"]:
            fail["left"] -= 1
            raise OperationalError("INSERT", {}, ConnectionError("database restarting"))
        written.extend(items)

    writer = BatchWriter("t-transient", write, interval=10)
    writer.submit("x")
    with pytest.raises(WriteBacklog):  # a reader must not go on as if "x" were stored
        writer.flush()
    assert written == [] and writer.pending() == 1
    writer.flush()
    assert written == ["x"]


def test_an_outage_longer_than_the_retries_loses_nothing():
    written: list[str] = []
    calls = {"n": 0}

    def write(items: list[str]) -> None:
        calls["n"] += 1
        if calls["n"] <= 3 * MAX_BATCH_ATTEMPTS:  # far more failures than a poison batch gets
            raise OperationalError("INSERT", {}, ConnectionError("server closed the connection"))
        written.extend(items)

    writer = BatchWriter("t-outage", write, interval=10)
    for item in ("a", "b", "c"):
        writer.submit(item)
    for _ in range(3 * MAX_BATCH_ATTEMPTS):
        with pytest.raises(WriteBacklog):
            writer.flush()
    writer.flush()
    assert written == ["a", "b", "c"] and writer.pending() == 0


def test_a_backlog_larger_than_one_batch_is_written_without_waiting_an_interval_per_batch():
    import threading

    # given a writer of 10-item batches whose first write is held while 30 more items queue
    sizes: list[int] = []
    release, all_written = threading.Event(), threading.Event()

    def write(items: list[int]) -> None:
        if not sizes:
            release.wait(30)
        sizes.append(len(items))
        if sum(sizes) == 40:
            all_written.set()

    writer = BatchWriter("t-backlog", write, interval=0.01, batch=10)
    for n in range(10):
        writer.submit(n)
    while writer.pending():  # the first batch is taken (and its write held)
        time.sleep(0.01)
    for n in range(30):
        writer.submit(n)
    # when the interval becomes an hour, and the held write returns
    writer._interval = 3600  # noqa: SLF001 - a wait per batch would now be an hour's wait
    release.set()
    # then the 30 queued items follow at once, in full batches, not one batch per interval
    assert all_written.wait(60), f"written so far: {sizes}"
    assert sizes == [10, 10, 10, 10]


def test_items_arriving_during_a_write_wait_for_the_next_interval_not_a_write_each(monkeypatch):
    import threading
    from types import SimpleNamespace

    from app.core import batching

    # given a writer of 10-item batches; while its first write (one item) runs, 3 items arrive
    events: list[tuple[str, float]] = []
    done = threading.Event()
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        if threading.current_thread().name == "t-trickle":  # the app's own writers sleep too
            events.append(("sleep", seconds))
        real_sleep(seconds)

    def write(items: list[int]) -> None:
        events.append(("write", len(items)))
        if len(events) == 2:
            for n in range(3):
                writer.submit(n)
        if sum(n for kind, n in events if kind == "write") == 4:
            done.set()

    monkeypatch.setattr(batching, "time", SimpleNamespace(sleep=sleep))
    writer = BatchWriter("t-trickle", write, interval=0.05, batch=10)
    # when one item is submitted
    writer.submit(0)
    assert done.wait(30), events
    # then the 3 newcomers are no backlog: they wait an interval and go in one batch (writing
    # whatever arrived during each write at once made a transaction per request under load)
    assert events[:4] == [("sleep", 0.05), ("write", 1), ("sleep", 0.05), ("write", 3)]


def test_items_a_failed_flush_puts_back_are_written_by_the_thread_without_another_flush():
    # A flush takes what was just submitted before the thread looks (the thread, woken, finds
    # the buffer empty and waits again); the flush's write fails and puts the items back. The
    # thread must be woken for them: later submits only wake it for a first item.
    import sys
    import threading

    written: list[str] = []
    writer: BatchWriter[str] = BatchWriter("t-requeue", lambda items: None, interval=0.01)

    def waiting() -> bool:
        return bool(writer._ready._waiters)  # type: ignore[attr-defined]

    def write(items: list[str]) -> None:
        if threading.current_thread() is threading.main_thread():
            deadline = time.monotonic() + 2
            while not waiting() and time.monotonic() < deadline:
                time.sleep(0.001)  # the woken thread found nothing and waits again
            raise OperationalError("flush", {}, Exception("database unavailable"))
        written.extend(items)

    writer._write = write  # type: ignore[method-assign]
    writer.submit("a")
    deadline = time.monotonic() + 2
    while not (written == ["a"] and waiting()) and time.monotonic() < deadline:
        time.sleep(0.005)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1.0)  # the flush takes "b" before the woken thread runs
    try:
        writer.submit("b")
        with pytest.raises(WriteBacklog):
            writer.flush()
    finally:
        sys.setswitchinterval(switch)
    writer.submit("c")
    deadline = time.monotonic() + 2
    while written != ["a", "b", "c"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert written == ["a", "b", "c"]


def test_room_is_there_at_once_while_the_backlog_is_under_its_bound():
    writer = BatchWriter("t-room", lambda items: None, interval=10, bound=3)
    for item in ("a", "b"):
        writer.submit(item)
    started = time.monotonic()
    asyncio.run(writer.room(timeout=5))
    assert time.monotonic() - started < 0.5


def test_a_full_backlog_makes_room_wait_until_the_writer_has_written():
    written: list[str] = []
    writer = BatchWriter("t-room-wait", written.extend, interval=0.3, bound=2)
    for item in ("a", "b"):
        writer.submit(item)
    started = time.monotonic()
    asyncio.run(writer.room(timeout=5))
    assert time.monotonic() - started >= 0.2  # it waited for the thread's interval and write
    assert written == ["a", "b"] and writer.pending() == 0


def test_room_refuses_with_a_backlog_error_when_the_writer_cannot_write_in_time():
    def write(items: list[str]) -> None:
        raise OperationalError("INSERT", {}, ConnectionError("database down"))

    writer = BatchWriter("t-room-stalled", write, interval=0.01, bound=1)
    writer.submit("a")
    with pytest.raises(WriteBacklog):
        asyncio.run(writer.room(timeout=0.3))
    assert writer.pending() == 1  # kept, not dropped


def test_the_audit_writer_is_bounded():
    from app.audit import service as audit

    assert audit.writer.bound is not None and 0 < audit.writer.bound <= 10_000

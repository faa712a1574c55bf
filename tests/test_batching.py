"""The background batch writer behind audit events and issued-token records."""

import time

from app.services.batching import MAX_BATCH_ATTEMPTS, BatchWriter


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
    deadline = time.monotonic() + 10
    while writer.pending() and time.monotonic() < deadline:
        writer.flush()
    assert written == ["a", "b"]
    assert writer.pending() == 0
    assert attempts >= MAX_BATCH_ATTEMPTS  # retried as a batch before giving up on "bad"


def test_a_transient_failure_keeps_the_items_for_the_next_attempt():
    written: list[str] = []
    fail = {"left": 1}

    def write(items: list[str]) -> None:
        if fail["left"]:
            fail["left"] -= 1
            raise ConnectionError("database restarting")
        written.extend(items)

    writer = BatchWriter("t-transient", write, interval=10)
    writer.submit("x")
    writer.flush()  # fails once: the item goes back to the buffer
    assert written == [] and writer.pending() == 1
    writer.flush()
    assert written == ["x"]

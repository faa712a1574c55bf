"""The buffered random pool behind request ids and token jtis."""

import os
import time

import pytest

from app.core import ids


def test_takes_are_fresh_bytes_across_a_buffer_refill():
    pool = ids.RandomPool()
    taken = [pool.take(18) for _ in range(3 * ids._BUFFER_BYTES // 18)]
    assert all(len(t) == 18 for t in taken)
    assert len(set(taken)) == len(taken)


def test_a_take_larger_than_the_buffer_is_whole():
    assert len(ids.RandomPool().take(ids._BUFFER_BYTES + 5)) == ids._BUFFER_BYTES + 5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_hands_out_the_parents_buffered_bytes():
    ids.random_hex(1)  # the buffer is filled before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, to the parent
        os.write(write, ids.random_hex(16).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert len(child) == 32
    assert child != ids.random_hex(16)  # the parent's next id, from the same buffer position


def test_time_ordered_ids_sort_in_the_order_they_were_made():
    # given ids made one millisecond or more apart, and many within one millisecond
    made = []
    for _ in range(5):
        made += [ids.time_ordered_urlsafe(12) for _ in range(50)]
        time.sleep(0.002)
    # then text order is issue order, millisecond by millisecond (an index on them appends)
    by_ms = [m[:8] for m in made]
    assert by_ms == sorted(by_ms) and len(set(by_ms)) >= 5
    # and each is URL-safe text of the usual length, unique, with its random part intact
    assert all(
        len(m) == 24 and m.isascii() and m.replace("-", "").replace("_", "").isalnum() for m in made
    )
    assert len(set(made)) == len(made)


def test_time_ordered_ids_order_across_every_character_of_the_prefix():
    # the 6-bit groups of the time map to characters in ASCII order (base64url's own is not)
    prefixes = [ids._time_prefix(ms) for ms in (0, 1, 63, 64, 2**47, 2**48 - 1)]
    prefixes += [ids._time_prefix(int(1.8e12) + step * 997) for step in range(2000)]
    values = [0, 1, 63, 64, 2**47, 2**48 - 1] + [int(1.8e12) + s * 997 for s in range(2000)]
    assert [p for _, p in sorted(zip(values, prefixes, strict=True))] == sorted(prefixes)

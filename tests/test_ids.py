"""The buffered random pool behind request ids and token jtis."""

import os

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

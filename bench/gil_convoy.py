"""What a batch insert costs beside a thread that keeps the GIL busy, as a web process's event loop does.

sqlite3's executemany steps each row with the GIL let go and must take it back after; a busy
thread holds it until the switch interval (5 ms) forces a hand-over, so each row of the batch
can wait that long. One multi-row INSERT steps once. This prints, for each way, the batch's
wall time (median, max) and how much work the busy thread got done meanwhile, alternating.
app/core/bulk_insert.py is why.

    python bench/gil_convoy.py [--rows 150] [--seconds 3] [--rounds 2]
"""

import argparse
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

COLUMNS = 8
Row = tuple[object, ...]


def _connect() -> sqlite3.Connection:
    path = os.path.join(tempfile.mkdtemp(prefix="jitgate-gil-convoy-"), "convoy.db")
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (a TEXT PRIMARY KEY, b, c, d, e, f, g, h)")
    return db


def _rows(n: int) -> list[Row]:
    return [
        (
            os.urandom(8).hex(),
            "x" * 20,
            "y" * 40,
            1,
            "2026-12-08 00:00:00.000000",
            "z" * 30,
            "w",
            "v",
        )
        for _ in range(n)
    ]


def executemany(db: sqlite3.Connection, rows: list[Row]) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.executemany(f"INSERT INTO t VALUES ({','.join('?' * COLUMNS)})", rows)
    db.execute("COMMIT")


def one_statement(db: sqlite3.Connection, rows: list[Row]) -> None:
    row = "(" + ",".join("?" * COLUMNS) + ")"
    db.execute("BEGIN IMMEDIATE")
    db.execute(f"INSERT INTO t VALUES {','.join([row] * len(rows))}", [v for r in rows for v in r])  # noqa: S608
    db.execute("COMMIT")


def measure(
    write: Callable[[sqlite3.Connection, list[Row]], None], rows: int, seconds: float
) -> tuple[float, float, int]:
    db, stop, batches = _connect(), threading.Event(), []

    def writer() -> None:
        while not stop.is_set():
            batch = _rows(rows)
            started = time.perf_counter()
            write(db, batch)
            batches.append(time.perf_counter() - started)
            stop.wait(0.1)  # the service's writers wake every 0.1 s

    thread = threading.Thread(target=writer)
    thread.start()
    busy, until = 0, time.perf_counter() + seconds
    while time.perf_counter() < until:  # the event loop: Python that never waits
        for _ in range(1000):
            pass
        busy += 1
    stop.set()
    thread.join()
    return statistics.median(batches) * 1e3, max(batches) * 1e3, busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=150, help="rows per batch (a busy writer's batch)"
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"batches of {args.rows} rows beside a busy thread, {args.seconds} s each, alternating")
    for _ in range(args.rounds):
        for write in (executemany, one_statement):
            median, worst, busy = measure(write, args.rows, args.seconds)
            print(
                f"{write.__name__:14} batch median {median:7.1f} ms  max {worst:7.1f} ms  busy thread {busy:,} loops"
            )


if __name__ == "__main__":
    main()

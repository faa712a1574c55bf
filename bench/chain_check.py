"""What the admin overview's audit-chain check costs: a full verification against the
incremental one it now makes after the first (app/audit/chain_state.py).

Builds one org with N audit events in a fresh SQLite file, then times, several rounds each:
the full check (every link recomputed, what the overview did on every load before) and the
incremental check after K new events (what a load costs now). Prints wall-clock seconds,
minimum and median; no threshold (benchmarks print figures, tests assert behaviour).

    python bench/chain_check.py                 # 20 000 events, 10 new per load, 5 rounds
    python bench/chain_check.py -n 100000 -k 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="jitgate-chain-check-"))
os.environ.update(
    JITGATE_DATABASE_URL=f"sqlite:///{_TMP / 'bench.db'}",
    JITGATE_SECRET_KEY="chain-check-" + os.urandom(8).hex(),
    JITGATE_ENV="test",
)

from sqlmodel import Session  # noqa: E402

from app.audit import chain_state  # noqa: E402
from app.audit import service as audit  # noqa: E402
from app.core.db import get_engine  # noqa: E402
from app.core.migrate import ensure_schema  # noqa: E402
from app.identity import orgs  # noqa: E402


def _append(org_id: str, count: int) -> None:
    events = [
        audit.EventIn(org_id=org_id, actor="bench", action="authz.check", outcome="allowed")
        for _ in range(count)
    ]
    with Session(get_engine()) as session:
        for start in range(0, count, 1000):
            audit.append(session, org_id, events[start : start + 1000])
        session.commit()


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20_000, help="events in the chain")
    parser.add_argument("-k", type=int, default=10, help="new events before each load")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ensure_schema(get_engine())
    with Session(get_engine()) as session:
        org, _token = orgs.create_org(session, name="Bench")
        session.commit()
        org_id = org.id
    _append(org_id, args.n)
    full, step = [], []
    for _ in range(args.rounds):
        chain_state.forget()
        with Session(get_engine()) as session:
            full.append(_timed(lambda s=session: chain_state.verify_all(s, org_id)))
        _append(org_id, args.k)
        with Session(get_engine()) as session:
            state = None

            def load(s=session) -> None:
                nonlocal state
                state = chain_state.latest(s, org_id)

            step.append(_timed(load))
            assert state is not None and state.incremental and state.report.broken_seq is None
    for name, runs in (("full check", full), (f"incremental (+{args.k})", step)):
        print(
            f"{name:>20}: min {min(runs) * 1000:8.1f} ms  median {statistics.median(runs) * 1000:8.1f} ms"
        )
    print(f"chain length at the end: {args.n + args.k * args.rounds} events")


if __name__ == "__main__":
    main()

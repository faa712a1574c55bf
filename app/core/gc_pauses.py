"""Keep the garbage collector's full passes short in a web process.

A full (generation 2) collection walks every object the collector tracks, and holds the GIL while
it does. After start-up that is everything FastAPI, SQLAlchemy, pydantic, the models and the
routes built: about 230,000 objects, and 140 ms of one thread, measured under the shared rig's
check load (`../shared/bench`, 2026-12-07: five such passes in a 5 s round, and every request in
flight waited for each; the check's p99 was 92 ms pinned, Cerbos's 20 ms). gc.freeze() after
start-up moves those objects to the permanent generation, which collections skip: in the same
rig run the check's p99 was 12 ms. Frozen objects are still freed by reference counting; only a
reference cycle among them is never collected, and start-up builds what lives as long as the
process anyway.
"""

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then freeze the rest; returns how many were frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("garbage collector: %d start-up objects frozen", frozen)
    return frozen

"""The web process freezes its start-up heap, so full collections skip it (app/core/gc_pauses.py)."""

import gc

import anyio
from fastapi import FastAPI

from app import runtime
from app.core import gc_pauses
from app.settings import Settings
from tests.helpers import jitgate_env


def test_a_served_process_freezes_by_default(monkeypatch):
    monkeypatch.delenv("JITGATE_GC_FREEZE", raising=False)
    assert Settings().gc_freeze is True


def test_freezing_moves_the_live_objects_out_of_the_collectors_passes():
    before = gc.get_freeze_count()
    try:
        frozen = gc_pauses.freeze_startup_heap()
        assert frozen > before
        # Not equal: a frozen object freed by reference counting leaves the permanent
        # generation, and the batch writers of earlier tests' apps run on in other threads.
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()  # the test process keeps collecting as before


def test_start_up_freezes_last_when_the_setting_is_on(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(gc_pauses, "freeze_startup_heap", lambda: calls.append("frozen") or 1)
    app = FastAPI()
    try:
        with jitgate_env(monkeypatch, gc_freeze="true", embedded_worker="0"):
            anyio.run(runtime.start, app)
        assert calls == ["frozen"]
        with jitgate_env(monkeypatch, gc_freeze="false", embedded_worker="0"):
            anyio.run(runtime.start, app)
        assert calls == ["frozen"]  # off: not again
    finally:
        anyio.run(runtime.stop, app)

"""The web process freezes its start-up heap, so full collections skip it (app/core/gc_pauses.py)."""

import gc

import anyio
from fastapi import FastAPI

from app import runtime
from app.core import gc_pauses
from app.settings import Settings, get_settings


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
    monkeypatch.setenv("JITGATE_GC_FREEZE", "true")
    monkeypatch.setenv("JITGATE_EMBEDDED_WORKER", "0")
    get_settings.cache_clear()
    monkeypatch.setattr(gc_pauses, "freeze_startup_heap", lambda: calls.append("frozen") or 1)
    app = FastAPI()
    try:
        anyio.run(runtime.start, app)
        assert calls == ["frozen"]
        monkeypatch.setenv("JITGATE_GC_FREEZE", "false")
        get_settings.cache_clear()
        anyio.run(runtime.start, app)
        assert calls == ["frozen"]  # off: not again
    finally:
        anyio.run(runtime.stop, app)
        get_settings.cache_clear()

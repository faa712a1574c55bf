"""Embedded mode: a Celery worker thread on the in-memory transport, and a sweep ticker, inside
the web process. Same tasks, same code paths as the distributed form; nothing else to install."""

import logging
import threading

from celery.worker import WorkController

from workers.celery_app import SWEEP_SECONDS, celery_app

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, concurrency: int = 4) -> None:
        self._concurrency = concurrency
        self._worker: WorkController | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> None:
        import workers.tasks  # noqa: F401  (registers the tasks)

        self._worker = WorkController(
            app=celery_app,
            pool="threads",
            concurrency=self._concurrency,
            loglevel="WARNING",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname="embedded@jitgate",
            ready_callback=None,
        )
        self._thread = threading.Thread(
            target=self._worker.start, name="celery-embedded", daemon=True
        )
        self._thread.start()
        self._ticker = threading.Thread(target=self._tick, name="sweep-ticker", daemon=True)
        self._ticker.start()
        log.info(
            "embedded Celery worker started (in-memory transport, %d threads)", self._concurrency
        )

    def _tick(self) -> None:
        while not self._stop.wait(SWEEP_SECONDS):
            try:
                celery_app.send_task("jitgate.sweep")
            except Exception:
                log.exception("could not schedule the sweep")

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            try:
                self._worker.stop(in_sighandler=False)
            except Exception:
                log.debug("embedded worker stop raised", exc_info=True)
        if self._thread is not None:
            self._thread.join(5)

    def alive(self) -> bool:
        """The worker thread runs (what /readyz reports as "embedded")."""
        return self._thread is not None and self._thread.is_alive()

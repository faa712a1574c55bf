"""Embedded mode: Celery worker threads on the in-memory transport, and a sweep ticker, inside
the web process. Same tasks, same code paths as the distributed form; nothing else to install.

Two consumers, each with its own thread pool, as the distributed form runs two workers: one for
the `jitgate` queue (announcements on our own channels, expiry, sweep, mints) and one for
`jitgate.deliveries` (webhooks and callbacks to URLs that orgs and agents chose), so a slow
receiver can only ever hold the second pool's threads.
"""

import logging
import threading
import time

from celery.worker import WorkController

from app.core.task_queue import SWEEP
from app.settings import get_settings
from workers.celery_app import DELIVERIES_QUEUE, QUEUE, SWEEP_SECONDS, celery_app

log = logging.getLogger(__name__)
CONSUMER_START_SECONDS = 10.0


class EmbeddedWorker:
    def __init__(self, concurrency: int = 4, delivery_concurrency: int | None = None) -> None:
        self._pools = {
            QUEUE: concurrency,
            DELIVERIES_QUEUE: delivery_concurrency or get_settings().delivery_threads,
        }
        self._workers: list[tuple[WorkController, threading.Thread]] = []
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> None:
        import workers.tasks  # noqa: F401  (registers the tasks)

        for queue, threads in self._pools.items():
            self._start_consumer(queue, threads)
        self._ticker = threading.Thread(target=self._tick, name="sweep-ticker", daemon=True)
        self._ticker.start()
        log.info("embedded Celery workers started (in-memory transport, %s threads)", self._pools)

    def _start_consumer(self, queue: str, threads: int) -> None:
        worker = WorkController(
            app=celery_app,
            pool="threads",
            concurrency=threads,
            queues=[queue],
            loglevel="WARNING",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname=f"{queue}@embedded",
            ready_callback=None,
        )
        thread = threading.Thread(target=worker.start, name=f"celery-{queue}", daemon=True)
        thread.start()
        self._workers.append((worker, thread))
        # The queues a consumer takes are read from the app's (shared) queue table when its
        # consumer starts: the next WorkController re-selects that table, so wait until this
        # one has taken its own queue before building the next.
        consuming = self._wait_consuming(worker)
        if consuming != [queue]:
            log.error("embedded worker for %s consumes %s", queue, consuming)

    @staticmethod
    def _wait_consuming(worker: WorkController) -> list[str]:
        ends = time.monotonic() + CONSUMER_START_SECONDS
        while time.monotonic() < ends:
            consumer = getattr(getattr(worker, "consumer", None), "task_consumer", None)
            if consumer is not None:
                return [q.name for q in consumer.queues]
            time.sleep(0.01)
        return []

    def consuming(self) -> dict[str, list[str]]:
        """Each consumer's queues (for tests and start-up checks)."""
        found = {}
        for worker, _thread in self._workers:
            consumer = getattr(getattr(worker, "consumer", None), "task_consumer", None)
            found[worker.hostname] = [q.name for q in consumer.queues] if consumer else []
        return found

    def _tick(self) -> None:
        while not self._stop.wait(SWEEP_SECONDS):
            try:
                celery_app.send_task(SWEEP)
            except Exception:
                log.exception("could not schedule the sweep")

    def stop(self) -> None:
        self._stop.set()
        for worker, _thread in self._workers:
            try:
                worker.stop(in_sighandler=False)
            except Exception:
                log.debug("embedded worker stop raised", exc_info=True)
        for _worker, thread in self._workers:
            thread.join(5)

    def alive(self) -> bool:
        """Both consumers' threads run (main's /readyz asks this of the embedded worker)."""
        return bool(self._workers) and all(thread.is_alive() for _w, thread in self._workers)

"""Start-up and shutdown of the web process: schema, signing keys, revocations, worker, events."""

import logging
import os
from datetime import UTC, datetime

import anyio
from fastapi import FastAPI
from sqlmodel import col, select

from app.audit import service as audit
from app.core import durable_store, gc_pauses, metrics, row_writer
from app.core.batching import WriteBacklog
from app.core.columns import aware
from app.core.db import get_engine, session_scope
from app.core.migrate import ensure_schema
from app.identity import access_tokens, replay
from app.identity.keys import ensure_org_keys, key_ring, retire_shared_keys
from app.models import IssuedToken
from app.settings import get_settings

log = logging.getLogger(__name__)


def reload_revocations() -> int:
    """The in-process revocation list does not survive a restart; rebuild it from the DB."""
    now = datetime.now(UTC)
    with session_scope() as session:
        stmt = select(IssuedToken).where(
            col(IssuedToken.revoked_at).is_not(None), col(IssuedToken.expires_at) > now
        )
        rows = session.exec(stmt).all()
        for row in rows:
            left = aware(row.expires_at) - now
            access_tokens.mark_revoked(row.jti, int(left.total_seconds()))
    return len(rows)


# Sync routes hold SQLite's write lock from their first write to the commit; if every worker
# thread were taken by requests queued on that lock, the holder could not get one back to
# finish. More threads than the default 40 push that point far beyond realistic concurrency.
WORKER_THREADS = 200


async def start(app: FastAPI) -> None:
    from workers import wiring

    settings = get_settings()
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    wiring.install()  # domain code queues tasks and signs webhooks through app/core's ports
    ensure_schema(get_engine())
    with session_scope() as session:
        ensure_org_keys(session)
        retire_shared_keys(session)
    key_ring.invalidate()
    metrics.watch_backlog("audit", audit.writer.pending)
    metrics.watch_backlog("rows", row_writer.rows.pending)
    if settings.embedded:
        reload_revocations()
        replay.reload()
        durable_store.reload()
    if settings.embedded:
        if os.environ.get("JITGATE_EMBEDDED_WORKER", "1") != "0":
            from workers.embedded import EmbeddedWorker

            app.state.worker = EmbeddedWorker()
            app.state.worker.start()
    else:
        from app.core.events import RedisListener

        app.state.listener = RedisListener(settings.redis_url or "")
        app.state.listener.start()
    if settings.gc_freeze:
        gc_pauses.freeze_startup_heap()  # last: everything start-up built is in it
    log.info("jitgate ready (%s mode)", "embedded" if settings.embedded else "redis")


async def stop(app: FastAPI) -> None:
    for name in ("worker", "listener"):
        part = getattr(app.state, name, None)
        if part is not None:
            part.stop()
    for writer in (row_writer.rows, audit.writer):
        try:
            writer.flush()
        except WriteBacklog as exc:  # the database is gone: nothing more can be done here
            log.error("stopping with unwritten rows: %s", exc)

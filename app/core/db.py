"""Engine, sessions and the after-commit hook that sends queued work only once data is durable."""

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast

import anyio
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, create_engine

from app.settings import get_settings

AFTER_COMMIT = "jitgate_after_commit"
log = logging.getLogger(__name__)


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers; every transaction takes the write lock up front.

    SQLite cannot upgrade a read snapshot to a writer once another writer has committed
    (SQLITE_BUSY_SNAPSHOT fails at once, busy_timeout does not help), so a read-then-write
    transaction such as a compare-and-set must start with BEGIN IMMEDIATE.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=60,
        )
        if read_only:
            _configure_sqlite_reader(engine)
        else:
            _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_read_engine() -> Engine:
    """For reads that may happen while this thread holds a write transaction (key ring refresh).

    With SQLite a second writer in the same thread would wait for itself; a WAL reader never
    waits. With PostgreSQL this is simply the main engine.
    """
    url = get_settings().database_url
    return make_engine(url, read_only=True) if url.startswith("sqlite") else get_engine()


def _configure_sqlite_reader(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA query_only=ON")
        cur.close()


def after_commit(session: OrmSession, fn: Callable[[], Any]) -> None:
    """Run fn once the session's transaction has committed; a rollback drops it."""
    session.info.setdefault(AFTER_COMMIT, []).append(fn)


@event.listens_for(OrmSession, "after_commit")
def _run_after_commit(session: OrmSession) -> None:
    # SQLAlchemy fires after_commit for a savepoint's release too (undo_on_error, and each
    # service's begin_nested): the unit of work has not committed yet, and may still roll back.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(AFTER_COMMIT, [])
    for fn in pending:
        try:
            fn()
        except Exception:  # the data is committed; sweeps pick up what could not be sent
            log.exception("after-commit action failed; it will be retried by the sweep")


@event.listens_for(OrmSession, "after_soft_rollback")
def _drop_after_commit(session: OrmSession, previous_transaction: Any) -> None:
    # Only the unit of work's own (outermost) rollback drops what it queued. A savepoint's
    # rollback leaves it standing (undo_on_error drops the actions its own block queued), and so
    # does a failed flush inside a savepoint, whose inner transaction is not nested itself.
    if previous_transaction.parent is None:
        session.info.pop(AFTER_COMMIT, None)


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for reads only (never committed); with SQLite it takes no write lock."""
    with Session(get_read_engine(), expire_on_commit=False) as session:
        yield session


class _LazyReadSession:
    """A read session that opens on first use. The token route reads nothing when the agent
    and its keys are cached (the common case), and opening and closing a Session costs about
    as much as parsing the whole request."""

    def __init__(self) -> None:
        self._session: Session | None = None

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            self._session = Session(get_read_engine(), expire_on_commit=False)
        return getattr(self._session, name)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


@contextmanager
def lazy_read_session() -> Iterator[Session]:
    """read_session(), opened only if the block uses it."""
    lazy = _LazyReadSession()
    try:
        yield cast(Session, lazy)
    finally:
        lazy.close()


@contextmanager
def undo_on_error(session: OrmSession) -> Iterator[None]:
    """A block the service may refuse (a decision, a form's change): on an exception its writes
    and the after-commit actions it queued are undone, and the rest of the unit of work stands.
    Routes that render a refusal as a page use it instead of rolling the session back by hand."""
    queued = len(session.info.get(AFTER_COMMIT, []))
    try:
        with session.begin_nested():  # a savepoint: rolled back by the exception
            yield
    except BaseException:
        # The savepoint's rollback does not drop actions queued inside it: an outbox task or an
        # event about a change that never commits must not be sent.
        del session.info.get(AFTER_COMMIT, [])[queued:]
        raise


def add_if_unique(session: OrmSession, row: Any) -> bool:
    """Add and flush a new (or changed) row in a savepoint: False, the rest of the unit of work
    intact, when the database refuses it (a unique name or address taken already)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for tasks and the CLI: commit on success, roll back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Commits get threads of their own: if they queued behind request handlers for the shared
# thread pool, handlers waiting for a lock that only a pending commit releases would starve it.
_commit_threads = anyio.CapacityLimiter(16)


async def get_session() -> AsyncIterator[Session]:
    """The request's unit of work (FastAPI dependency): commit on success, roll back on error."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
        await anyio.to_thread.run_sync(session.commit, limiter=_commit_threads)
    except BaseException:
        await anyio.to_thread.run_sync(session.rollback, limiter=_commit_threads)
        raise
    finally:
        await anyio.to_thread.run_sync(session.close, limiter=_commit_threads)


def rows_changed(session: OrmSession, statement: Any) -> int:
    """Execute an UPDATE/DELETE and say how many rows it changed (the compare-and-set verdict)."""
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0))

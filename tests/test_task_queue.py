"""The task port (app/core/task_queue.py): domain code queues tasks without importing workers/;
tasks leave only after the commit, and a process with no sender says so instead of dropping them."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from app.core import org_signing, task_queue


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, task_name: str, *args: Any, **options: Any) -> None:
        self.sent.append((task_name, args, options))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    previous = task_queue.register_sender(recorder)
    yield recorder
    task_queue.register_sender(previous)


@pytest.fixture
def session() -> Iterator[Session]:
    with Session(create_engine("sqlite://")) as session:
        session.exec(text("SELECT 1"))  # a transaction is open
        yield session


def test_a_task_sent_with_no_sender_registered_is_refused_by_name():
    previous = task_queue.register_sender(None)
    try:
        with pytest.raises(task_queue.NoSender, match="jitgate.expire_request"):
            task_queue.send(task_queue.EXPIRE_REQUEST, "jit_x")
    finally:
        task_queue.register_sender(previous)


def test_a_rolled_back_transaction_sends_nothing(recorder, session):
    task_queue.send_after_commit(session, task_queue.NOTIFY_REQUEST, "jit_x", outbox_id=7)
    session.rollback()
    session.commit()
    assert recorder.sent == []


def test_a_task_leaves_only_once_the_transaction_commits(recorder, session):
    task_queue.send_after_commit(session, task_queue.EXPIRE_REQUEST, "jit_x", countdown=3.0)
    assert recorder.sent == []
    session.commit()
    assert recorder.sent == [
        (task_queue.EXPIRE_REQUEST, ("jit_x",), {"countdown": 3.0, "outbox_id": None})
    ]


def test_workers_wiring_plugs_celery_and_the_org_keys_into_the_ports():
    from app.identity.access_tokens import org_signing_key
    from workers import enqueue, wiring

    previous_sender = task_queue.register_sender(None)
    previous_lookup = org_signing.provide(None)
    try:
        wiring.install()
        assert task_queue.register_sender(None) is enqueue.send
        assert org_signing.provide(None) is org_signing_key
    finally:
        task_queue.register_sender(previous_sender)
        org_signing.provide(previous_lookup)


def test_every_task_the_domains_send_is_registered_by_the_workers():
    import workers.tasks  # noqa: F401  (registers the tasks)
    from workers.celery_app import celery_app

    names = {v for k, v in vars(task_queue).items() if k.isupper() and isinstance(v, str)}
    assert names <= set(celery_app.tasks), sorted(names - set(celery_app.tasks))

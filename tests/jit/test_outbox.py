"""The outbox's order and bookkeeping (issue 14 item 1): an outcome is never marked done, nor
re-driven by the relay, before its request's announcement is done."""

from datetime import timedelta

from app.db import session_scope
from app.models import OutboxRow
from app.models._types import utcnow
from app.services import outbox
from workers import relay


def _owed(request_id: str, kind: str, *, due_in: float = -1) -> int:
    """A row as a state change writes it, without its fast-path task (the broker was down)."""
    now = utcnow()
    with session_scope() as session:
        row = OutboxRow(
            org_id="org_test",
            request_id=request_id,
            kind=kind,
            event_id=outbox.event_id(request_id, kind),
            task="jitgate.notify_request" if kind == outbox.ANNOUNCE else "jitgate.notify_outcome",
            args=[request_id],
            next_attempt_at=now + timedelta(seconds=due_in),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _row(outbox_id: int) -> OutboxRow:
    with session_scope() as session:
        row = session.get(OutboxRow, outbox_id)
        assert row is not None
        return row


def test_an_outcome_is_not_done_before_its_announcement(client):
    # Given an announcement and an outcome owed for one request,
    announce, outcome = _owed("jit_order1", "announce"), _owed("jit_order1", "outcome")
    # when the outcome's task finishes first, its row stays owed;
    assert outbox.mark_done(outcome) is False
    # then once the announcement is done, so may the outcome be, once.
    assert outbox.mark_done(announce) is True
    assert outbox.mark_done(outcome) is True
    assert outbox.mark_done(outcome) is False
    assert _row(outcome).status == outbox.DONE and _row(outcome).done_at is not None


def test_the_relay_sends_an_outcome_only_after_its_announcement_is_done(client):
    # Given both rows of a request owed and due (their fast path was lost),
    announce, outcome = _owed("jit_order2", "announce"), _owed("jit_order2", "outcome")
    # when the relay runs, it takes the announcement and leaves the outcome waiting,
    relay.relay(now=utcnow() + timedelta(seconds=1))
    assert _row(announce).attempts == 1
    assert _row(outcome).attempts == 0
    # and a row not yet due is left to its fast path.
    later = _owed("jit_order3", "announce", due_in=3600)
    relay.relay(now=utcnow())
    assert _row(later).attempts == 0


def test_a_row_out_of_attempts_is_marked_failed(client, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "outbox_max_attempts", 1)
    row = _owed("jit_order4", "outcome")
    with session_scope() as session:
        session.get(OutboxRow, row).attempts = 1
    relay.relay(now=utcnow() + timedelta(seconds=1))
    assert _row(row).status == outbox.FAILED

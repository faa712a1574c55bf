"""undo_on_error (app/core/db.py): a refused block inside a request's unit of work leaves nothing
behind, neither rows nor queued after-commit actions, and the rest of the unit of work stands.
Routes that render a refusal as a page use it instead of rolling back by hand."""

import uuid

import pytest

from app.core.db import after_commit, session_scope, undo_on_error
from app.core.errors import RuleViolation
from app.models import Org


def _org_id() -> str:
    return f"org_undo{uuid.uuid4().hex[:10]}"


def _exists(org_id: str) -> bool:
    with session_scope() as session:
        return session.get(Org, org_id) is not None


def test_a_refused_block_leaves_no_row_and_sends_nothing_while_earlier_work_commits(client):
    kept, refused, ran = _org_id(), _org_id(), []
    # given a unit of work that already wrote a row
    with session_scope() as session:
        session.add(Org(id=kept, name="kept"))
        session.flush()
        # when a block writes another, queues an action for after the commit, and is refused
        with pytest.raises(RuleViolation), undo_on_error(session):
            session.add(Org(id=refused, name="refused"))
            session.flush()
            after_commit(session, lambda: ran.append("sent"))
            raise RuleViolation("refused")
    # then the earlier row is committed, the block's row is not, and its action never ran
    assert _exists(kept)
    assert not _exists(refused)
    assert ran == []


def test_a_block_that_succeeds_keeps_its_rows_and_its_actions(client):
    org_id, ran = _org_id(), []
    with session_scope() as session, undo_on_error(session):
        session.add(Org(id=org_id, name="done"))
        session.flush()
        after_commit(session, lambda: ran.append("sent"))
    assert _exists(org_id)
    assert ran == ["sent"]


def test_a_block_that_succeeds_does_not_run_actions_before_the_unit_of_work_commits(client):
    org_id, ran = _org_id(), []
    # given a unit of work that queued an action, then ran a block that succeeded
    with pytest.raises(RuntimeError), session_scope() as session:
        after_commit(session, lambda: ran.append("outer"))
        with undo_on_error(session):
            session.add(Org(id=org_id, name="done"))
            session.flush()
            after_commit(session, lambda: ran.append("inner"))
        # then releasing the savepoint ran nothing yet
        assert ran == []
        # and when the unit of work then fails, nothing ever runs for it
        raise RuntimeError("the request fails after the block")
    assert not _exists(org_id)
    assert ran == []


def test_a_block_refused_by_its_flush_keeps_the_actions_queued_before_it(client):
    kept, ran = _org_id(), []
    with session_scope() as session:
        session.add(Org(id=kept, name="kept"))
        session.flush()
        after_commit(session, lambda: ran.append("outer"))
        # when the block's own flush fails (a duplicate key: an IntegrityError)
        with pytest.raises(Exception), undo_on_error(session):
            session.add(Org(id=kept, name="duplicate"))
            session.flush()
    # then the unit of work commits and the action it queued before the block runs
    assert _exists(kept)
    assert ran == ["outer"]

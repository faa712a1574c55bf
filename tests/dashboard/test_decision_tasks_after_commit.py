"""A decision taken on a page runs inside undo_on_error (a savepoint); its tasks must still
leave only once the request's unit of work has committed, so the worker finds the decision."""

from typing import Any

from app.core import task_queue
from app.core.db import read_session
from app.models import JitRequest
from tests.dashboard.conftest import ask, csrf_from


def test_a_dashboard_approval_sends_its_outcome_task_only_after_the_commit(client, signed_in, team):
    request_id = ask(client, team)["request_id"]
    csrf = csrf_from(signed_in)
    seen: list[tuple[str, str]] = []

    def sender(task_name: str, *args: Any, **options: Any) -> None:
        with read_session() as session:  # what a worker would read now
            seen.append((task_name, session.get(JitRequest, request_id).status))

    previous = task_queue.register_sender(sender)
    try:
        resp = signed_in.post(
            f"/dashboard/requests/{request_id}/approve", data={"csrf_token": csrf}
        )
    finally:
        task_queue.register_sender(previous)
    assert resp.status_code in (200, 303), resp.text
    outcome = [status for name, status in seen if name == task_queue.NOTIFY_OUTCOME]
    assert outcome == ["approved"], seen

"""Suspending an agent while one of its requests is being approved: the approval that commits
after the suspension read the request as pending is withdrawn all the same (revoked), never
left approved with a live token for a suspended agent (review of 8a19c44)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core.db import get_engine, session_scope
from app.jit import revocation


@pytest.fixture(autouse=True)
def _postgresql_only():
    if get_engine().dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises every writer, the suspension and the approval")


def _suspend_while_approving(monkeypatch, jit, agent, alice, approved_meanwhile) -> None:
    """The suspension's withdrawal reads the agent's open requests; before it changes the
    first, an approver's decision on `approved_meanwhile(first)` commits in another transaction."""
    original = revocation._withdraw
    calls: list[str] = []

    def withdraw(session, row, reason, now):
        if not calls:
            with ThreadPoolExecutor(1) as pool:
                approval = pool.submit(jit.decide, approved_meanwhile(row.id), alice)
                resp = approval.result(timeout=60)
            assert resp.status_code == 200, resp.text
        calls.append(row.id)
        return original(session, row, reason, now)

    monkeypatch.setattr(revocation, "_withdraw", withdraw)
    with session_scope() as session:
        revocation.withdraw_for_agent(
            session, org_id=jit.org.org_id, agent_id=agent.agent_id, reason="suspended"
        )


def test_an_approval_committed_after_the_withdrawal_read_the_request_is_revoked(
    monkeypatch, jit, agent, alice
):
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    _suspend_while_approving(monkeypatch, jit, agent, alice, lambda first: request_id)
    assert jit.get(request_id, jit.org.admin)["status"] == "revoked"


def test_a_later_request_approved_meanwhile_is_revoked_too(monkeypatch, jit, agent, alice):
    # The withdrawal cancels the first it reaches; the other is approved before it gets there.
    jit.policy([alice])
    both = {jit.pending(agent)["request_id"], jit.pending(agent)["request_id"]}
    later: list[str] = []

    def the_other(first: str) -> str:
        later.append(next(iter(both - {first})))
        return later[0]

    _suspend_while_approving(monkeypatch, jit, agent, alice, the_other)
    statuses = {rid: jit.get(rid, jit.org.admin)["status"] for rid in both}
    assert statuses[later[0]] == "revoked", statuses
    assert sorted(statuses.values()) == ["cancelled", "revoked"], statuses

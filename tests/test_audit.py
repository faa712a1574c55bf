"""The audit trail: what becomes an event, the admin filters, and the hash chain's tamper evidence."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from app.audit import service as audit
from app.cli import main
from app.core.batching import BatchWriter
from app.core.db import get_engine
from tests.factories import register_agent, request_token
from tests.helpers import audit_events


def verify(org_id: str):
    return CliRunner().invoke(main, ["audit", "verify", "--org", org_id])


def tamper(org_id: str, seq: int, **columns: str) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    with get_engine().begin() as conn:
        changed = conn.execute(
            text(f"UPDATE audit_event SET {assignments} WHERE org_id = :org AND seq = :seq"),
            {"org": org_id, "seq": seq, **columns},
        ).rowcount
    assert changed == 1


def check(client, agent, headers, permission):
    resp = client.post(
        f"{agent.org.api}/authz/check", json={"permission": permission}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_registration_token_and_decisions_are_events(client, org, agent):
    # given an agent that gets a token, is refused one, and asks two questions
    headers = agent.bearer(client)
    request_token(client, org, agent.assertion(jti="dup"))
    request_token(client, org, agent.assertion(jti="dup"))
    allowed = check(client, agent, headers, "document.read")
    denied = check(client, agent, headers, "admin.delete")
    # then each is one event in the trail
    events = audit_events(client, org)
    actions = [(e["action"], e["outcome"]) for e in events]
    assert ("agent.register", "success") in actions
    assert actions.count(("token.issue", "success")) == 2
    assert actions.count(("token.issue", "refused")) == 1
    decisions = {e["details"]["decision_id"]: e for e in events if e["action"] == "authz.check"}
    assert decisions[allowed["decision_id"]]["outcome"] == "allowed"
    assert decisions[denied["decision_id"]]["outcome"] == "denied"
    assert decisions[denied["decision_id"]]["reason"] == denied["reason"]


def test_events_are_filtered_by_actor_action_since_and_limit(client, org, agent):
    other = register_agent(client, org, capabilities=["document.read"])
    agent.token(client)
    middle = datetime.now(UTC)
    other.token(client)
    other.token(client)

    by_actor = audit_events(client, org, actor=other.agent_id)
    assert len(by_actor) == 2 and {e["actor"] for e in by_actor} == {other.agent_id}
    by_action = audit_events(client, org, action="agent.register")
    assert len(by_action) == 2 and {e["action"] for e in by_action} == {"agent.register"}
    since = audit_events(client, org, since=middle.isoformat().replace("+00:00", "Z"))
    assert [e["actor"] for e in since] == [other.agent_id, other.agent_id]
    newest = audit_events(client, org, limit=2)
    everything = audit_events(client, org)
    assert [e["seq"] for e in newest] == [e["seq"] for e in everything[:2]]
    assert everything[0]["seq"] > everything[1]["seq"]


def test_since_honours_the_utc_offset_it_is_written_with(client, org, agent):
    # given events written now, and the same instant half an hour ago in two spellings
    agent.token(client)
    before = datetime.now(UTC) - timedelta(minutes=30)
    as_utc = before.isoformat()
    as_plus_two = before.astimezone(timezone(timedelta(hours=2))).isoformat()
    as_minus_five = before.astimezone(timezone(timedelta(hours=-5))).isoformat()
    # then every spelling selects the same events
    expected = [e["seq"] for e in audit_events(client, org, since=as_utc)]
    assert expected
    assert [e["seq"] for e in audit_events(client, org, since=as_plus_two)] == expected
    assert [e["seq"] for e in audit_events(client, org, since=as_minus_five)] == expected
    later = (datetime.now(UTC) + timedelta(minutes=30)).astimezone(timezone(timedelta(hours=-5)))
    assert audit_events(client, org, since=later.isoformat()) == []


@pytest.mark.parametrize(
    ("since", "finds"),
    [("0001-01-01T00:00:00+14:00", True), ("9999-12-31T23:59:59-14:00", False)],
    ids=["first-day-of-time", "last-day-of-time"],
)
def test_since_at_the_edges_of_the_calendar_is_not_an_error(client, org, agent, since, finds):
    events = audit_events(client, org, since=since)
    assert bool(events) is finds


@pytest.mark.parametrize("name", ["actor", "action"])
def test_filter_with_a_nul_byte_is_refused_rather_than_failing(client, org, agent, name):
    resp = client.get(f"{org.api}/audit", params={name: "agent\x00"}, headers=org.admin)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


def test_audit_listing_needs_this_orgs_admin(client, org, other_org, agent):
    resp = client.get(f"{org.api}/audit", headers=other_org.admin)
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"
    resp = client.get(f"{org.api}/audit", headers=agent.bearer(client))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_token"


def test_audit_verify_passes_on_an_untouched_chain(client, org, agent):
    agent.token(client)
    result = verify(org.org_id)
    assert result.exit_code == 0, result.output
    assert f"{org.org_id}: ok" in result.output


def test_edited_row_makes_audit_verify_name_the_first_broken_seq(client, org, agent):
    # given a chain of several events
    agent.token(client)
    agent.token(client)
    events = audit_events(client, org)
    target = sorted(e["seq"] for e in events)[1]
    # when someone edits one row by hand
    tamper(org.org_id, target, reason="x")
    # then verify exits 1 and names that event
    result = verify(org.org_id)
    assert result.exit_code == 1
    assert f"BROKEN at event {target}:" in result.output
    assert "Traceback" not in result.output
    report = client.get(f"{org.api}/audit/verify", headers=org.admin).json()
    assert report["ok"] is False and report["broken_seq"] == target


def test_edited_hash_is_caught_at_the_next_link(client, org, agent):
    agent.token(client)
    first = min(e["seq"] for e in audit_events(client, org))
    tamper(org.org_id, first, hash="0" * 64)
    result = verify(org.org_id)
    assert result.exit_code == 1 and f"BROKEN at event {first}:" in result.output


def test_deleted_last_event_is_caught(client, org, agent):
    agent.token(client)
    last = max(e["seq"] for e in audit_events(client, org))
    with get_engine().begin() as conn:
        conn.execute(
            text("DELETE FROM audit_event WHERE org_id = :o AND seq = :s"),
            {"o": org.org_id, "s": last},
        )
    result = verify(org.org_id)
    assert result.exit_code == 1 and f"BROKEN at event {last}:" in result.output


def test_a_refusal_with_a_long_reason_keeps_the_chain_verifiable(client, org, agent):
    # given a refusal whose description quotes a very long scope value
    resp = request_token(client, org, agent.assertion(), scope="a." + "b" * 5000)
    assert resp.status_code == 400
    # then the stored (bounded) reason still hashes to the stored hash
    result = verify(org.org_id)
    assert result.exit_code == 0, result.output


def test_hostile_permission_text_is_recorded_and_does_not_block_the_trail(client, org, agent):
    # given a decision on a permission name with a NUL byte and a newline in it
    headers = agent.bearer(client)
    decision = client.post(
        f"{org.api}/authz/check",
        json={"permission": "doc\x00ument.re\nad", "resource": "doc\x00:1"},
        headers=headers,
    ).json()
    assert decision["allowed"] is False
    # when a later event happens
    later = register_agent(client, org, capabilities=["document.read"])
    # then both are in the trail and the chain verifies
    events = audit_events(client, org)
    assert any(e["details"].get("decision_id") == decision["decision_id"] for e in events)
    assert any(e["target"] == later.agent_id for e in events)
    assert verify(org.org_id).exit_code == 0


def test_flush_waits_for_a_write_already_in_flight(client, org):
    # given a writer whose background thread is in the middle of writing an event
    started, release = threading.Event(), threading.Event()

    def slow_write(items):
        started.set()
        release.wait(5)
        audit._write_events(items)

    writer = BatchWriter("test-audit-writer", slow_write, interval=0)
    writer.submit(audit.EventIn(org_id=org.org_id, actor="t", action="test.flush", outcome="ok"))
    assert started.wait(5)
    flushed = threading.Event()
    threading.Thread(target=lambda: (writer.flush(), flushed.set()), daemon=True).start()
    # then flush does not return before that write is durable
    assert not flushed.wait(0.2)
    release.set()
    assert flushed.wait(5)
    assert [e["action"] for e in audit_events(client, org, action="test.flush")] == ["test.flush"]


def test_an_event_with_a_lone_surrogate_or_nul_is_stored_not_dropped(client, org, agent):
    # JSON bodies with "\ud800" are refused (400), but a JWT's claims are read by json.loads,
    # which accepts it; no UTF-8 column holds it. The event must still be written (sanitised),
    # or a caller could make its own audit event disappear.
    audit.record_later(
        audit.EventIn(
            org_id=org.org_id,
            actor="agt_\ud800x",
            action="token.issue",
            outcome="refused",
            reason="kid \ud800 and \x00",
            details={"kid": "\ud800", "nested": ["a\x00b", {"k\ud800": 1}]},
        )
    )
    events = audit_events(client, org, action="token.issue")
    assert len(events) == 1
    event = events[0]
    assert event["actor"] == "agt_\ufffdx" and event["reason"] == "kid \ufffd and \ufffd"
    assert event["details"] == {"kid": "\ufffd", "nested": ["a\ufffdb", {"k\ufffd": 1}]}
    report = client.get(f"{org.api}/audit/verify", headers=org.admin).json()
    assert report["ok"] is True, report


# Events a fast path could get wrong: each stored field must be what _storable makes of it.
_AWKWARD_EVENTS = [
    {"actor": "agt_1", "details": {"scope": "a b", "kid": "k"}},  # plain: stored as given
    {"actor": "agt_1", "details": {"note": "a literal \\u0000, not a NUL"}},
    {"actor": "agt_1", "details": {"bad\x00key": ["x\x00", ("y", 1)], "7": None}},
    {"actor": "é" * 10, "details": {"q": "\ud800"}},
    {"actor": "a" * 201, "reason": "r" * 2001, "target": "t" * 200, "details": {}},
    {"actor": "agt_1", "outcome": "o" * 33, "action": "x" * 65, "details": {"n": 1.5}},
]


@pytest.mark.parametrize("fields", _AWKWARD_EVENTS)
def test_a_chained_event_is_stored_as_repaired_and_hashed_as_stored(fields):
    ts = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    event = audit.EventIn(
        org_id="org_x", action=fields.get("action", "token.issue"),
        outcome=fields.get("outcome", "success"), ts=ts,
        **{k: v for k, v in fields.items() if k not in ("action", "outcome")},
    )  # fmt: skip
    rows, seq, head = audit._chain_rows("org_x", 41, audit.GENESIS, [event])
    [row] = rows
    expected = {
        "actor": audit._storable(event.actor, 200),
        "action": audit._storable(event.action, 64),
        "target": audit._storable(event.target, 200),
        "outcome": audit._storable(event.outcome, 32),
        "reason": audit._storable(event.reason, 2000),
        "details": audit._storable_details(event.details),
    }
    assert {name: row[name] for name in expected} == expected
    stored = {name: row[name] for name in ("ts", *expected)}
    assert (seq, head) == (42, row["hash"])
    assert row["hash"] == audit.event_hash(audit.GENESIS, org_id="org_x", seq=42, **stored)

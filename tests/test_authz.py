"""Permission checks (/authz/check, /authz/check-bulk): the rules in order, subjects, and callers."""

import pytest

from tests.factories import make_org, register_agent, set_policy
from tests.helpers import assert_oauth_error, audit_events


def check(client, agent, headers, **body):
    return client.post(f"{agent.org.api}/authz/check", json=body, headers=headers)


def decide(client, agent, headers, permission, **body):
    resp = check(client, agent, headers, permission=permission, **body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_standing_capability_is_allowed(client, org, agent):
    answer = decide(client, agent, agent.bearer(client), "document.read")
    assert answer["allowed"] is True and answer["jit_required"] is False
    assert answer["subject"] == agent.agent_id and answer["permission"] == "document.read"
    assert answer["decision_id"].startswith("dec_")
    assert "standing" in answer["reason"]


def test_permission_outside_the_capabilities_is_denied(client, org, agent):
    answer = decide(client, agent, agent.bearer(client), "admin.delete")
    assert answer["allowed"] is False and "capabilities" in answer["reason"]


def test_jit_permission_answers_jit_required(client, org, agent):
    policy = set_policy(client, org, "payments.authorize", "jit", groups=["finance"])
    answer = decide(client, agent, agent.bearer(client), "payments.authorize")
    assert answer["allowed"] is False and answer["jit_required"] is True
    assert answer["policy_id"] == policy["policy_id"]


def test_denied_permission_is_denied_by_its_policy(client, org, agent):
    policy = set_policy(client, org, "email.*", "deny")
    answer = decide(client, agent, agent.bearer(client), "email.send")
    assert answer["allowed"] is False and policy["policy_id"] in answer["reason"]


def test_capability_outside_the_token_scope_is_denied(client, org, agent):
    headers = agent.bearer(client, scope="document.read")
    answer = decide(client, agent, headers, "document.summarize")
    assert answer["allowed"] is False and "scope" in answer["reason"]


@pytest.mark.parametrize("permission", ["Document.Read", "read", "", "a.b.c.d.e", "doc\x00.read"])
def test_invalid_permission_name_is_denied_not_an_error(client, org, agent, permission):
    answer = decide(client, agent, agent.bearer(client), permission)
    assert answer["allowed"] is False and "valid permission" in answer["reason"]


def test_suspended_agent_is_denied_with_its_existing_token(client, org, agent):
    headers = agent.bearer(client)
    client.patch(
        f"{org.api}/agents/{agent.agent_id}", json={"status": "suspended"}, headers=org.admin
    )
    answer = decide(client, agent, headers, "document.read")
    assert answer["allowed"] is False and "suspended" in answer["reason"]


def test_deleted_agents_token_is_refused(client, org, agent):
    headers = agent.bearer(client)
    client.delete(f"{org.api}/agents/{agent.agent_id}", headers=org.admin)
    resp = check(client, agent, headers, permission="document.read")
    assert_oauth_error(resp, 401, "invalid_token", mentions="no longer exists")
    assert not audit_events(client, org, action="authz.check")


def test_removed_capability_is_denied_even_with_an_older_token(client, org, agent):
    # given a token that carries document.summarize in its scope
    headers = agent.bearer(client)
    # when an admin removes that capability
    resp = client.patch(
        f"{org.api}/agents/{agent.agent_id}",
        json={"capabilities": ["document.read"]},
        headers=org.admin,
    )
    assert resp.status_code == 200
    # then the older token no longer grants it
    answer = decide(client, agent, headers, "document.summarize")
    assert answer["allowed"] is False and "capabilities" in answer["reason"]


@pytest.mark.parametrize("form", ["name", "id"])
def test_subject_may_be_another_agent_by_name_or_id(client, org, form):
    checker = register_agent(client, org, capabilities=["authz.check_others"])
    other = register_agent(client, org, capabilities=["email.send"])
    subject = f"agent:{other.name}" if form == "name" else other.agent_id
    answer = decide(client, checker, checker.bearer(client), "email.send", subject=subject)
    assert answer["allowed"] is True and answer["subject"] == other.agent_id


def test_subject_defaults_to_the_caller_in_both_spellings(client, org, agent):
    headers = agent.bearer(client)
    for subject in (f"agent:{agent.name}", agent.agent_id):
        assert decide(client, agent, headers, "document.read", subject=subject)["allowed"] is True


@pytest.mark.parametrize(
    "kind", ["unknown-name", "unknown-id", "nul", "nul-name", "long", "other-org"]
)
def test_unknown_subject_is_404_for_a_checker_of_others(client, org, kind):
    agent = register_agent(client, org, capabilities=["authz.check_others", "document.read"])
    subjects = {
        "unknown-name": "agent:nobody",
        "unknown-id": "agt_nobody",
        "nul": "agt_\x00",
        "nul-name": "agent:a\x00b",
        "long": "agt_" + "x" * 190,
    }
    if kind == "other-org":
        stranger = register_agent(client, make_org("Org B"), capabilities=["document.read"])
        subjects[kind] = stranger.agent_id
    resp = check(
        client, agent, agent.bearer(client), permission="document.read", subject=subjects[kind]
    )
    assert_oauth_error(resp, 404, "not_found", mentions="subject")
    assert not audit_events(client, org, action="authz.check")


def test_assertion_used_as_bearer_token_is_refused(client, org, agent):
    # given a perfectly valid client assertion
    headers = {"Authorization": f"Bearer {agent.assertion()}"}
    # then it is not an access token
    resp = check(client, agent, headers, permission="document.read")
    assert_oauth_error(resp, 401, "invalid_token", mentions="not an access token")
    assert not audit_events(client, org, action="authz.check")


def test_admin_token_cannot_call_check(client, org, agent):
    resp = check(client, agent, org.admin, permission="document.read")
    assert_oauth_error(resp, 401, "invalid_token")
    assert not audit_events(client, org, action="authz.check")


@pytest.mark.parametrize(
    "body",
    [{}, {"permission": 5}, {"permission": "document.read", "extra": 1}, {"permission": "x" * 300}],
)
def test_invalid_check_body_is_422(client, org, agent, body):
    resp = client.post(f"{org.api}/authz/check", json=body, headers=agent.bearer(client))
    assert_oauth_error(resp, 422, "invalid_request")
    assert not audit_events(client, org, action="authz.check")


def test_malformed_check_json_is_400(client, org, agent):
    headers = {**agent.bearer(client), "Content-Type": "application/json"}
    resp = client.post(f"{org.api}/authz/check", content=b"{not json", headers=headers)
    assert_oauth_error(resp, 400, "invalid_request", mentions="JSON")
    assert not audit_events(client, org, action="authz.check")


# /authz/check is a LeanRoute (it reads its own path, headers and body): the framework's usual
# answers must still hold for it.


@pytest.mark.parametrize("org_id", ["x" * 65, "bad.id", "bad%20id"])
def test_check_with_a_malformed_org_id_is_422(client, agent, org_id):
    resp = client.post(
        f"/orgs/{org_id}/api/v1/authz/check",
        json={"permission": "document.read"},
        headers=agent.bearer(client),
    )
    assert_oauth_error(resp, 422, "invalid_request", mentions="org_id")


def test_check_in_an_unknown_org_is_404(client, agent):
    resp = client.post(
        "/orgs/org_nosuchorg/api/v1/authz/check",
        json={"permission": "document.read"},
        headers=agent.bearer(client),
    )
    assert_oauth_error(resp, 404, "not_found", mentions="organization")


def test_check_with_another_method_is_405_with_allow(client, org, agent):
    resp = client.get(f"{org.api}/authz/check", headers=agent.bearer(client))
    assert_oauth_error(resp, 405, "method_not_allowed")
    assert resp.headers["allow"] == "POST"


def test_check_without_a_bearer_token_is_401(client, org, agent):
    resp = client.post(f"{org.api}/authz/check", json={"permission": "document.read"})
    assert_oauth_error(resp, 401, "invalid_request", mentions="bearer")
    assert not audit_events(client, org, action="authz.check")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_check_with_a_body_that_is_not_json_is_415(client, org, agent, content_type):
    headers = agent.bearer(client)
    if content_type:
        headers["Content-Type"] = content_type
    resp = client.post(
        f"{org.api}/authz/check", content=b'{"permission": "document.read"}', headers=headers
    )
    assert_oauth_error(resp, 415, "invalid_request", mentions="application/json")
    assert not audit_events(client, org, action="authz.check")


def test_check_accepts_json_media_types_with_parameters_or_a_suffix(client, org, agent):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        headers = {**agent.bearer(client), "Content-Type": content_type}
        body = b'{"permission": "document.read"}'
        resp = client.post(f"{org.api}/authz/check", content=body, headers=headers)
        assert resp.status_code == 200 and resp.json()["allowed"] is True, resp.text


def test_a_bearer_token_with_a_deeply_nested_header_is_401_not_500(client, org):
    import base64

    segment = base64.urlsafe_b64encode(b"[" * 3000).rstrip(b"=").decode()
    headers = {"Authorization": f"Bearer {segment}.e30.c2ln"}
    resp = client.post(f"{org.api}/authz/check", json={"permission": "x.y"}, headers=headers)
    assert_oauth_error(resp, 401, "invalid_token", mentions="not a JWT")


def test_check_is_documented_with_its_path_parameter_and_body(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/orgs/{org_id}/api/v1/authz/check"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["org_id"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["permission"]


def test_bulk_check_answers_in_order(client, org, agent):
    set_policy(client, org, "payments.authorize", "jit", groups=["finance"])
    checks = [
        {"permission": "document.read"},
        {"permission": "admin.delete"},
        {"permission": "payments.authorize"},
    ]
    resp = client.post(
        f"{org.api}/authz/check-bulk", json={"checks": checks}, headers=agent.bearer(client)
    )
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["permission"] for r in results] == [c["permission"] for c in checks]
    assert [r["allowed"] for r in results] == [True, False, False]
    assert results[2]["jit_required"] is True
    assert len(audit_events(client, org, action="authz.check")) == 3


def test_bulk_check_of_more_than_100_is_422(client, org, agent):
    checks = [{"permission": "document.read"}] * 101
    resp = client.post(
        f"{org.api}/authz/check-bulk", json={"checks": checks}, headers=agent.bearer(client)
    )
    assert_oauth_error(resp, 422, "invalid_request")
    assert not audit_events(client, org, action="authz.check")


def test_every_decision_is_an_audit_event(client, org, agent):
    headers = agent.bearer(client)
    yes = decide(client, agent, headers, "document.read", resource="doc:42")
    no = decide(client, agent, headers, "admin.delete")
    events = {
        e["details"]["decision_id"]: e for e in audit_events(client, org, action="authz.check")
    }
    assert events[yes["decision_id"]]["outcome"] == "allowed"
    assert events[yes["decision_id"]]["details"]["resource"] == "doc:42"
    assert events[no["decision_id"]]["outcome"] == "denied"
    assert events[no["decision_id"]]["actor"] == agent.agent_id


def test_a_client_gone_before_its_body_arrived_gets_no_answer_and_no_decision(
    app, client, org, agent
):
    # Straight through the ASGI app: the client disconnects instead of sending the body.
    import asyncio

    sent = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    token = agent.token(client)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": f"/orgs/{org.org_id}/api/v1/authz/check",
        "raw_path": f"/orgs/{org.org_id}/api/v1/authz/check".encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"), (b"content-length", b"30")],
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent == []
    assert not audit_events(client, org, action="authz.check")


def test_a_policy_for_a_permission_nobody_holds_is_accepted_with_a_warning(client, org, agent):
    typo = set_policy(client, org, "paymnets.authorise", "deny")
    fine = set_policy(client, org, "document.*", "standing")

    assert "paymnets.authorise" in typo["warnings"][0]
    assert "warnings" not in fine


def _hold_the_audit_writer():
    """Nothing queued is written (nor taken from the queue) until the lock is released."""
    from app.audit import service as audit

    audit.writer.flush()
    return audit.writer._write_lock


def test_check_bulk_waits_once_for_all_its_checks_so_a_503_decides_none(
    client, org, agent, monkeypatch
):
    from app.audit import service as audit

    headers = agent.bearer(client)
    before = len(audit_events(client, org, action="authz.check"))
    # Given an audit queue with room for a few events but not for ten ...
    monkeypatch.setattr(audit.writer, "bound", 2)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.05)
    with _hold_the_audit_writer():
        # ... when the agent asks for ten checks at once
        body = {"checks": [{"permission": "document.read"}] * 10}
        resp = client.post(f"{org.api}/authz/check-bulk", json=body, headers=headers)
    # then it is told to retry, before any of them was decided and audited
    assert_oauth_error(resp, 503, "temporarily_unavailable")
    monkeypatch.undo()
    assert len(audit_events(client, org, action="authz.check")) == before


def test_an_org_at_its_share_of_the_audit_queue_does_not_make_another_org_wait(
    client, org, other_org, monkeypatch
):
    from app.audit import service as audit

    caps = ["document.read"]
    mine = register_agent(client, org, capabilities=caps)
    theirs = register_agent(client, other_org, capabilities=caps)
    mine_headers, their_headers = mine.bearer(client), theirs.bearer(client)
    monkeypatch.setattr(audit.writer, "bound", 300)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.05)
    with _hold_the_audit_writer():
        # Given one org whose events fill its share of the queue, and refused token requests
        # made in the other org's name (unauthenticated: anyone can make them) ...
        for _ in range(300):
            audit.record_later(audit.EventIn(org.org_id, "a", "authz.check", "allowed"))
        for _ in range(200):
            refused = audit.EventIn(other_org.org_id, "unknown", "token.issue", "refused")
            audit.record_later(refused)
        # ... when each org's agent checks
        full = check(client, mine, mine_headers, permission="document.read")
        other = check(client, theirs, their_headers, permission="document.read")
    # then only the org at its share waits (here: is refused); the other is answered at once
    assert_oauth_error(full, 503, "temporarily_unavailable")
    assert other.status_code == 200, other.text
    monkeypatch.undo()


def test_a_check_the_audit_trail_cannot_take_is_refused_with_503_not_decided(
    client, org, agent, monkeypatch
):
    from app.audit import service as audit

    headers = agent.bearer(client)
    # Given an audit writer that makes no room (every queued count is at a bound of 0) ...
    monkeypatch.setattr(audit.writer, "bound", 0)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.05)
    # ... when the agent checks, then it is told to retry, and nothing was decided.
    resp = check(client, agent, headers, permission="document.read")
    assert_oauth_error(resp, 503, "temporarily_unavailable")
    assert resp.headers["retry-after"] == "2"  # as when the database is down
    monkeypatch.undo()
    assert not audit_events(client, org, action="authz.check")


def test_refused_token_requests_events_past_their_budget_are_dropped_and_counted(
    client, org, monkeypatch
):
    from app.audit import service as audit
    from app.core import metrics

    monkeypatch.setattr(audit, "REFUSED_TOKEN_EVENTS_BOUND", 10)
    dropped = metrics.AUDIT_EVENTS_DROPPED.labels("refused_token_backlog")
    before = dropped._value.get()
    with _hold_the_audit_writer():
        # Given refused token requests' events filling their budget ...
        for _ in range(15):  # ... when more come
            audit.record_later(audit.EventIn(org.org_id, "unknown", "token.issue", "refused"))
        # then only the budget is queued, and the rest is counted
        assert audit.writer.queued(None) == 10
        assert audit.writer.queued(org.org_id) == 0
    assert dropped._value.get() - before == 5

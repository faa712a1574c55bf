"""AuthZEN Authorization API 1.0: the specification's examples, answered with /authz/check's rules.

The examples below are quoted from the OpenID AuthZEN Authorization API 1.0 text
(openid/authzen, api/authorization-api-1_0.md). jitgate decides for agents, so where a quoted
example names a user, the test says so and swaps in an agent, keeping everything else.
"""

import copy

import pytest

from tests.factories import make_org, register_agent, set_policy
from tests.helpers import assert_oauth_error, audit_events

# §"HTTPS Access Evaluation Request" (Transport, HTTPS Binding), verbatim body.
SPEC_EVALUATION_REQUEST = {
    "subject": {"type": "user", "id": "alice@acmecorp.com"},
    "resource": {"type": "todo", "id": "1"},
    "action": {"name": "can_read"},
    "context": {"time": "1985-10-26T01:22-07:00"},
}
# §"HTTPS Access Evaluation Response", verbatim body.
SPEC_EVALUATION_RESPONSE = {"decision": True}

# §"HTTPS Access Evaluations Request", verbatim body: defaults for subject, context and action,
# and a third evaluation that overrides the action.
SPEC_EVALUATIONS_REQUEST = {
    "subject": {"type": "user", "id": "alice@acmecorp.com"},
    "context": {"time": "2024-05-31T15:22-07:00"},
    "action": {"name": "can_read"},
    "evaluations": [
        {"resource": {"type": "document", "id": "boxcarring.md"}},
        {"resource": {"type": "document", "id": "subject-search.md"}},
        {
            "action": {"name": "can_edit"},
            "resource": {"type": "document", "id": "resource-search.md"},
        },
    ],
}

# §7.1.2.1 "Evaluations semantics" example: read three documents, with each semantic.
SPEC_SEMANTICS_REQUEST = {
    "subject": {"type": "user", "id": "alice@example.com"},
    "action": {"name": "read"},
    "options": {"evaluations_semantic": "execute_all"},
    "evaluations": [
        {"resource": {"type": "document", "id": "1"}},
        {"resource": {"type": "document", "id": "2"}},
        {"resource": {"type": "document", "id": "3"}},
    ],
}

# §9.2.2 "Policy Decision Point Metadata Response", verbatim example (its keys).
SPEC_METADATA_EXAMPLE = {
    "policy_decision_point": "https://pdp.mycompany.com",
    "access_evaluation_endpoint": "https://pdp.mycompany.com/access/v1/evaluation",
    "search_subject_endpoint": "https://pdp.mycompany.com/access/v1/search/subject",
    "search_resource_endpoint": "https://pdp.mycompany.com/access/v1/search/resource",
}


def as_agent(example, agent):
    """The example with its user subject replaced by the agent (by name), all else kept."""
    body = copy.deepcopy(example)
    body["subject"] = {"type": "agent", "id": agent.name}
    return body


def evaluation(client, org, headers, body):
    return client.post(f"/orgs/{org.org_id}/access/v1/evaluation", json=body, headers=headers)


def evaluations(client, org, headers, body):
    return client.post(f"/orgs/{org.org_id}/access/v1/evaluations", json=body, headers=headers)


@pytest.fixture
def reader(client, org):
    return register_agent(client, org, capabilities=["todo.can_read", "document.can_read"])


# --- the specification's examples -----------------------------------------------------------


def test_spec_evaluation_example_for_an_agent_answers_the_specs_decision(client, org, reader):
    # given the spec's evaluation request, its subject an agent that may read todos
    # when an admin asks
    resp = evaluation(client, org, org.admin, as_agent(SPEC_EVALUATION_REQUEST, reader))
    # then the answer is the spec's response, with /authz/check's reason and decision id
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {"decision": body["decision"]} == SPEC_EVALUATION_RESPONSE
    assert body["context"]["decision_id"].startswith("dec_")
    assert "standing" in body["context"]["reason"]


def test_spec_evaluation_example_with_a_user_subject_is_invalid_request(client, org, reader):
    # given the spec's example verbatim (a user subject; jitgate decides for agents)
    resp = evaluation(client, org, org.admin, SPEC_EVALUATION_REQUEST)
    # then a clear 400 naming the field, never a guess
    assert_oauth_error(resp, 400, "invalid_request", mentions="subject.type")


def test_spec_evaluations_example_answers_in_order_with_defaults_and_override(client, org, reader):
    # given the spec's boxcarred request: read two documents, then edit a third
    resp = evaluations(client, org, org.admin, as_agent(SPEC_EVALUATIONS_REQUEST, reader))
    # then three answers in order: the reads allowed, the overridden action (not held) denied
    assert resp.status_code == 200, resp.text
    answers = resp.json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, True, False]
    assert "capabilities" in answers[2]["context"]["reason"]


@pytest.mark.parametrize(
    ("semantic", "decisions"),
    [
        ("execute_all", [True, False, True]),
        ("deny_on_first_deny", [True, False]),
        ("permit_on_first_permit", [True]),
    ],
)
def test_spec_semantics_example_answers_like_the_spec(client, org, semantic, decisions):
    # given an agent for which the second evaluation is denied (the spec's own outcome), here by
    # giving the second document's evaluation an action the agent does not hold
    agent = register_agent(client, org, capabilities=["document.read"])
    body = as_agent(SPEC_SEMANTICS_REQUEST, agent)
    body["options"]["evaluations_semantic"] = semantic
    body["evaluations"][1]["action"] = {"name": "delete"}
    # when the batch is evaluated with each semantic
    resp = evaluations(client, org, org.admin, body)
    # then the answers are the spec's: all, up to the first deny, up to the first permit
    assert resp.status_code == 200, resp.text
    assert [a["decision"] for a in resp.json()["evaluations"]] == decisions


def test_configuration_document_has_the_specs_keys_for_this_org(client, org):
    resp = client.get(f"/orgs/{org.org_id}/.well-known/authzen-configuration")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(SPEC_METADATA_EXAMPLE) - set(body) == {
        "search_subject_endpoint",
        "search_resource_endpoint",
    }  # no search APIs: §9.1.1 says absent parameters mean not supported
    assert body["policy_decision_point"] == org.issuer
    assert body["access_evaluation_endpoint"] == f"{org.issuer}/access/v1/evaluation"
    assert body["access_evaluations_endpoint"] == f"{org.issuer}/access/v1/evaluations"
    inserted = client.get(f"/.well-known/authzen-configuration/orgs/{org.org_id}")
    assert inserted.json() == body


def test_configuration_of_an_unknown_org_is_404(client):
    assert_oauth_error(client.get("/orgs/nope/.well-known/authzen-configuration"), 404, "not_found")


# --- the same decision as /authz/check ------------------------------------------------------


def test_jit_permission_answers_false_with_jit_required(client, org, agent):
    set_policy(client, org, "payments.authorize", "jit", groups=["finance"])
    body = {
        "subject": {"type": "agent", "id": agent.agent_id},
        "action": {"name": "authorize"},
        "resource": {"type": "payments"},
    }
    resp = evaluation(client, org, org.admin, body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["decision"] is False and resp.json()["context"]["jit_required"] is True


def test_evaluation_is_audited_like_a_check(client, org, reader):
    resp = evaluation(client, org, org.admin, as_agent(SPEC_EVALUATION_REQUEST, reader))
    decision_id = resp.json()["context"]["decision_id"]
    events = audit_events(client, org, action="authz.check")
    event = next(e for e in events if e["details"].get("decision_id") == decision_id)
    assert event["outcome"] == "allowed" and event["target"] == "todo.can_read"
    assert event["details"]["interface"] == "authzen"
    assert event["details"]["subject"] == reader.agent_id
    assert event["details"]["resource"] == {"type": "todo", "id": "1"}


def test_agent_asking_about_itself_gets_its_token_scoped_decision(client, org, reader):
    # given the agent's token scoped to todos only
    headers = reader.bearer(client, scope="todo.can_read")
    body = as_agent(SPEC_EVALUATION_REQUEST, reader)
    assert evaluation(client, org, headers, body).json()["decision"] is True
    # when it asks about a capability outside its token's scope, as /authz/check would deny
    body["resource"] = {"type": "document", "id": "x"}
    answer = evaluation(client, org, headers, body).json()
    assert answer["decision"] is False and "scope" in answer["context"]["reason"]


def test_agent_asking_about_another_agent_needs_check_others(client, org, reader):
    other = register_agent(client, org, capabilities=["todo.can_read"])
    resp = evaluation(client, org, reader.bearer(client), as_agent(SPEC_EVALUATION_REQUEST, other))
    assert_oauth_error(resp, 403, "forbidden", mentions="authz.check_others")


def test_agent_with_check_others_may_ask_about_another(client, org):
    checker = register_agent(client, org, capabilities=["authz.check_others"])
    other = register_agent(client, org, capabilities=["todo.can_read"])
    resp = evaluation(client, org, checker.bearer(client), as_agent(SPEC_EVALUATION_REQUEST, other))
    assert resp.status_code == 200 and resp.json()["decision"] is True


def test_batch_about_another_agent_without_check_others_denies_each(client, org, reader):
    other = register_agent(client, org, capabilities=["document.can_read"])
    body = as_agent(SPEC_EVALUATIONS_REQUEST, other)
    resp = evaluations(client, org, reader.bearer(client), body)
    assert resp.status_code == 200, resp.text
    for answer in resp.json()["evaluations"]:
        assert answer["decision"] is False and answer["context"]["error"]["status"] == 403


# --- refusals -------------------------------------------------------------------------------


def test_no_credential_is_401(client, org, reader):
    resp = evaluation(client, org, {}, as_agent(SPEC_EVALUATION_REQUEST, reader))
    assert_oauth_error(resp, 401, "invalid_request", mentions="bearer")


def test_other_orgs_admin_cannot_ask(client, org, reader):
    other = make_org("Other")
    body = as_agent(SPEC_EVALUATION_REQUEST, reader)
    assert_oauth_error(evaluation(client, org, other.admin, body), 404, "not_found")


def test_subject_of_another_org_is_404_for_an_admin(client, org):
    other = make_org("Other")
    stranger = register_agent(client, other, capabilities=["todo.can_read"])
    resp = evaluation(client, org, org.admin, as_agent(SPEC_EVALUATION_REQUEST, stranger))
    assert_oauth_error(resp, 404, "not_found")


@pytest.mark.parametrize(
    ("change", "mentions"),
    [
        ({"subject": None}, "subject"),
        ({"subject": {"type": "agent"}}, "subject"),
        ({"action": {"verb": "read"}}, "action"),
        ({"resource": {"id": "1"}}, "resource"),
        ({"resource": "todo"}, "resource"),
    ],
)
def test_malformed_evaluation_is_400_naming_the_part(client, org, reader, change, mentions):
    body = {**as_agent(SPEC_EVALUATION_REQUEST, reader), **change}
    resp = evaluation(client, org, org.admin, body)
    assert resp.status_code in (400, 422), resp.text
    assert mentions in resp.json()["error_description"]


def test_unknown_evaluations_semantic_is_400(client, org, reader):
    body = as_agent(SPEC_SEMANTICS_REQUEST, reader)
    body["options"]["evaluations_semantic"] = "first_wins"
    assert_oauth_error(evaluations(client, org, org.admin, body), 400, "invalid_request")


def test_more_than_100_evaluations_is_refused(client, org, reader):
    body = as_agent(SPEC_SEMANTICS_REQUEST, reader)
    body["evaluations"] = body["evaluations"] * 34
    resp = evaluations(client, org, org.admin, body)
    assert resp.status_code in (400, 422) and "evaluations" in resp.json()["error_description"]


def test_evaluations_without_an_array_is_a_single_evaluation(client, org, reader):
    resp = evaluations(client, org, org.admin, as_agent(SPEC_EVALUATION_REQUEST, reader))
    assert resp.status_code == 200 and resp.json()["decision"] is True


# --- the audit queue's bound (as at /authz/check) -------------------------------------------


@pytest.mark.parametrize("count", [1, 100])
def test_evaluations_the_audit_trail_cannot_take_are_refused_with_503_not_decided(
    client, org, reader, monkeypatch, count
):
    from app.audit import service as audit

    before = len(audit_events(client, org, action="authz.check"))
    # Given an audit writer that makes no room (every queued count is at a bound of 0) ...
    monkeypatch.setattr(audit.writer, "bound", 0)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.05)
    # ... when an admin asks for one evaluation, or for a hundred at once
    one = as_agent(SPEC_EVALUATION_REQUEST, reader)
    if count == 1:
        resp = evaluation(client, org, org.admin, one)
    else:
        resp = evaluations(client, org, org.admin, {**one, "evaluations": [{}] * count})
    # then, as /authz/check would, it is told to retry, and nothing was decided or queued
    assert_oauth_error(resp, 503, "temporarily_unavailable")
    monkeypatch.undo()
    assert len(audit_events(client, org, action="authz.check")) == before


def test_concurrent_evaluations_queue_no_more_audit_events_than_the_bound(
    client, org, reader, monkeypatch
):
    from concurrent.futures import ThreadPoolExecutor

    from app.audit import service as audit

    body = as_agent(SPEC_EVALUATIONS_REQUEST, reader)
    body["evaluations"] = body["evaluations"][:1] * 100
    # Given an audit queue bound to 300 events whose writer writes nothing ...
    monkeypatch.setattr(audit.writer, "bound", 300)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.5)
    audit.writer.flush()
    with audit.writer._write_lock:
        # ... when 30 requests of 100 evaluations come at once (each decides in a thread)
        with ThreadPoolExecutor(30) as pool:
            answers = list(pool.map(lambda _: evaluations(client, org, org.admin, body), range(30)))
        queued = audit.writer.queued(org.org_id)
    # then only as many are answered as the bound holds; the others are told to retry
    assert queued <= 300
    answered = [r for r in answers if r.status_code == 200]
    assert len(answered) * 100 == queued
    for refused in (r for r in answers if r.status_code != 200):
        assert_oauth_error(refused, 503, "temporarily_unavailable")
        assert refused.headers["retry-after"] == "2"
    monkeypatch.undo()

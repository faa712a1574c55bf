"""GET /metrics: Prometheus text whose counters move with what the service does."""

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.jit.conftest import Jit


def samples(client, headers=None) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics", headers=headers or {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found, name, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_with_requests_decisions_tokens_and_jit(client, org, agent):
    route = "/orgs/{org_id}/api/v1/authz/check"
    before = samples(client)
    jit = Jit(client, org)
    alice = jit.approver("metrics-alice")
    jit.policy([alice])

    client.post(
        f"{org.api}/authz/check", json={"permission": "document.read"}, headers=agent.bearer(client)
    )
    client.post(
        f"{org.api}/authz/check", json={"permission": "nothing.here"}, headers=agent.bearer(client)
    )
    request_id, _ = jit.approved_token(agent, alice)
    client.post(f"{org.api}/oauth/token", data={"grant_type": "client_credentials"})

    after = samples(client)
    moved = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert moved("jitgate_http_requests_total", method="POST", route=route, status="200") >= 2
    assert moved("jitgate_http_request_duration_seconds_count", method="POST", route=route) >= 2
    assert moved("jitgate_decisions_total", action="authz.check", outcome="allowed") >= 1
    assert moved("jitgate_decisions_total", action="authz.check", outcome="denied") >= 1
    assert moved("jitgate_tokens_issued_total", kind="access") >= 1
    assert moved("jitgate_tokens_issued_total", kind="jit") == 1
    assert moved("jitgate_tokens_refused_total", reason="invalid_client") >= 1
    assert moved("jitgate_jit_requests_total", status="pending") == 1
    assert moved("jitgate_jit_requests_total", status="approved") == 1
    assert moved("jitgate_jit_decision_seconds_count", status="approved") == 1
    assert ("jitgate_writer_backlog", (("writer", "audit"),)) in after


def test_notification_deliveries_are_counted_by_channel(client, org, agent):
    import time

    jit = Jit(client, org)
    alice = jit.approver("metrics-bob")
    jit.policy([alice], channels=["log"])
    before = value(
        samples(client),
        "jitgate_notification_deliveries_total",
        channel="log",
        kind="announce",
        outcome="sent",
    )
    jit.pending(agent)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = value(
            samples(client),
            "jitgate_notification_deliveries_total",
            channel="log",
            kind="announce",
            outcome="sent",
        )
        if now > before:
            break
        time.sleep(0.1)
    assert now == before + 1


def test_labels_are_route_templates_never_ids(client, org, agent):
    client.get(f"{org.api}/jit/requests/jit_0123456789abcdef", headers=agent.bearer(client))

    text = client.get("/metrics").text

    assert "jit_0123456789abcdef" not in text and org.org_id not in text
    assert re.search(r'route="/orgs/\{org_id\}/api/v1/jit/requests/\{request_id\}"', text)


def test_a_metrics_token_protects_the_endpoint(client, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "metrics_token", "scrape-secret-123")

    refused = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})

    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert samples(client, {"Authorization": "Bearer scrape-secret-123"})

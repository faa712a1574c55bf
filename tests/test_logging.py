"""Request ids on every response and in audit events; JSON logs without secrets in them."""

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.core.logs import redact
from jitgate import SyncAgentAuth, generate_key
from tests.sdk.live_server import REPO, STARTUP_SECONDS, _wait_healthy, free_port, server_env

JITGATE = str(Path(sys.executable).with_name("jitgate"))


def test_every_response_carries_a_generated_request_id(client):
    first, second = client.get("/healthz"), client.get("/orgs/org_nope/api/v1/agents")

    assert len(first.headers["X-Request-ID"]) == 32
    assert second.status_code in (401, 404) and second.headers["X-Request-ID"]
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("trace-42.a:b", True), ("x" * 129, False), ("has space", False), ("<script>", False)],
    ids=["sane", "too-long", "space", "markup"],
)
def test_a_sane_caller_request_id_is_kept_and_any_other_replaced(client, sent, kept):
    answer = client.get("/healthz", headers={"X-Request-ID": sent})

    assert (answer.headers["X-Request-ID"] == sent) is kept


def test_refusals_before_routing_carry_a_request_id_too(client):
    answer = client.post("/healthz", content=b"x" * (2 * 1024 * 1024))

    assert answer.status_code == 413 and answer.headers["X-Request-ID"]


def test_the_request_id_is_in_the_audit_event_it_caused(client, org, agent):
    headers = {**agent.bearer(client), "X-Request-ID": "trace-audit-1"}
    client.post(f"{org.api}/authz/check", json={"permission": "document.read"}, headers=headers)

    events = client.get(f"{org.api}/audit", params={"limit": 200}, headers=org.admin).json()

    checks = [e for e in events["items"] if e["details"].get("request_id") == "trace-audit-1"]
    assert [e["action"] for e in checks] == ["authz.check"]


def test_redaction_blanks_tokens_and_keeps_the_rest():
    line = "got eyJhbGciOi.eyJzdWIiOiJ4In0.c2lnbmF0dXJl and jgadm_abc123 Bearer xyz.abc ok"

    assert redact(line) == "got [redacted] and [redacted] [redacted] ok"


@pytest.fixture
def json_server(tmp_path):
    port = free_port()
    env = server_env(tmp_path, port) | {"JITGATE_LOG_FORMAT": "json"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [JITGATE, "serve", "--port", str(port)], cwd=REPO, env=env, stdout=out, stderr=out
        )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process, log, STARTUP_SECONDS)
        yield f"http://127.0.0.1:{port}", env, log
    finally:
        process.terminate()
        process.wait(15)


def test_json_logs_have_request_fields_and_no_secrets(json_server):
    base, env, log = json_server
    org = json.loads(
        subprocess.run(
            [JITGATE, "orgs", "create", "Logs", "--json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    admin = {"Authorization": f"Bearer {org['admin_token']}"}
    api = f"{base}/orgs/{org['org_id']}/api/v1"
    pem, jwks = generate_key()
    agent = httpx.post(
        f"{api}/agents/register",
        headers=admin,
        json={
            "name": "log-bot",
            "capabilities": ["document.read", "payments.authorize"],
            "jwks": jwks,
        },
    ).json()
    approver = httpx.post(
        f"{api}/approvers", headers=admin, json={"email": "a@logs.example"}
    ).json()
    policy = {
        "permission": "payments.authorize",
        "mode": "jit",
        "approvers": [approver["approver_id"]],
        "channels": ["log"],
    }
    assert httpx.post(f"{api}/policies", headers=admin, json=policy).status_code == 201
    auth = SyncAgentAuth(base, org["org_id"], agent["agent_id"], pem)
    access_token = auth.get_access_token()
    auth.check("document.read")
    pending = auth.request_jit_permission("payments.authorize", "pay", "5m", {"n": 1}, wait=False)

    deadline = time.monotonic() + 20
    while "pending: org=" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    assert records and all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert all(r["time"].endswith("+0000") or r["time"].endswith("Z") for r in records)
    check = next(r for r in records if r.get("route", "").endswith("/authz/check"))
    assert check["status"] == 200 and check["org"] == org["org_id"]
    assert check["agent"] == agent["agent_id"] and len(check["request_id"]) == 32
    assert isinstance(check["duration_ms"], float)
    announced = [r for r in records if r["logger"] == "jitgate.notifiers.log"]
    assert pending.request_id in announced[0]["message"]  # the log channel prints under serve
    for secret in (access_token, org["admin_token"], approver["api_token"], pem.splitlines()[1]):
        assert secret not in text


def test_every_answer_writes_times_as_rfc3339_utc_with_z(client, org, agent):
    from tests.jit.conftest import Jit

    jit = Jit(client, org)
    jit.policy([jit.approver("times")])
    created = jit.pending(agent)
    read = jit.get(created["request_id"], org.admin)
    event = client.get(f"{org.api}/audit", headers=org.admin).json()["items"][0]
    listed = client.get(f"{org.api}/agents", headers=org.admin).json()["items"][0]
    approver = client.get(f"{org.api}/approvers", headers=org.admin).json()["items"][0]
    for value in (
        created["created_at"],
        created["expires_at"],
        read["created_at"],
        event["ts"],
        listed["created_at"],
        approver["created_at"],
    ):
        assert value.endswith("Z") and "+00:00" not in value, value

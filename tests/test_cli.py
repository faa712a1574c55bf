"""The `jitgate` command line: machine-readable output, one-line errors, key generation."""

import json
import os
import stat
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from app.cli import main
from tests.factories import AgentHandle, OrgHandle, request_token
from tests.helpers import jitgate_env
from tests.shared_redis import uses_shared_redis


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_one_line_error(result, mentions: str) -> None:
    """Exit non-zero with a single `Error: …` line and no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert mentions in lines[0], lines[0]


def run_cli(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The real executable in a fresh process, for settings that are read once per process."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
    environ.update({f"JITGATE_{k.upper()}": v for k, v in env.items()})
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_orgs_create_json_prints_exactly_one_object(client):
    # when an org is created with --json
    result = cli("orgs", "create", "Acme Labs", "--json")
    # then stdout is one JSON object with exactly the two documented fields
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1
    body = json.loads(result.stdout)
    assert set(body) == {"org_id", "admin_token"}
    assert body["org_id"].startswith("org_") and body["admin_token"].startswith("jgadm_")
    # and the admin token works on the API
    org = OrgHandle(body["org_id"], body["admin_token"])
    assert client.get(f"{org.api}/agents", headers=org.admin).status_code == 200


def test_orgs_create_json_on_a_fresh_database_prints_only_the_object(tmp_path):
    # a first run migrates the schema: nothing of that may reach stdout
    url = f"sqlite:///{tmp_path}/fresh.db"
    proc = run_cli(tmp_path, "orgs", "create", "Acme", "--json", database_url=url)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1
    assert set(json.loads(proc.stdout)) == {"org_id", "admin_token"}


def test_orgs_create_with_a_slug_uses_it(client):
    slug = f"acme-{uuid.uuid4().hex[:8]}"
    result = cli("orgs", "create", "Acme", "--slug", slug, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["org_id"] == slug


def test_duplicate_slug_is_a_one_line_error(client):
    slug = f"dup-{uuid.uuid4().hex[:8]}"
    assert cli("orgs", "create", "First", "--slug", slug).exit_code == 0
    assert_one_line_error(cli("orgs", "create", "Second", "--slug", slug, "--json"), "exists")


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["orgs", "create", "   "], "name"),
        (["orgs", "create", "Acme", "--slug", "Not A Slug"], "slug"),
        (["admin-tokens", "create", "--org", "org_missing"], "org_missing"),
        (["admin-tokens", "revoke", "--org", "org_missing", "adm_x"], "adm_x"),
        (["agents", "register", "--org", "org_missing", "--name", "Bad Name"], "name"),
        (["audit", "verify", "--org", "org_missing"], ""),
    ],
    ids=["blank-name", "bad-slug", "unknown-org", "unknown-token", "bad-agent-name", "verify"],
)
def test_user_mistakes_are_one_line_errors(client, args, mentions):
    result = cli(*args)
    if args[0] == "audit":  # an org without events verifies trivially
        assert result.exit_code == 0 and "ok, 0 events" in result.output
        return
    assert_one_line_error(result, mentions)


def test_revoked_admin_token_stops_working(client, org):
    result = cli("admin-tokens", "create", "--org", org.org_id, "--label", "ci", "--json")
    assert result.exit_code == 0, result.output
    issued = json.loads(result.stdout)
    second = OrgHandle(org.org_id, issued["admin_token"])
    assert client.get(f"{org.api}/agents", headers=second.admin).status_code == 200
    assert cli("admin-tokens", "revoke", "--org", org.org_id, issued["token_id"]).exit_code == 0
    resp = client.get(f"{org.api}/agents", headers=second.admin)
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_token"


def test_keys_generate_writes_a_private_pem_and_prints_the_public_jwks(client, org, tmp_path):
    # when a key pair is generated into a directory
    out = tmp_path / "keys"
    result = cli("keys", "generate", "--out", str(out), "--kid", "ci-key")
    assert result.exit_code == 0, result.output
    # then stdout is the public JWKS only, and the private key is a 0600 file
    jwks = json.loads(result.stdout)
    assert [k["kid"] for k in jwks["keys"]] == ["ci-key"]
    assert "d" not in jwks["keys"][0]
    pem = out / "agent.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in pem.read_text() and "PRIVATE" not in result.stdout
    assert json.loads((out / "agent.jwks.json").read_text()) == jwks
    # and the pair works end to end: register with the CLI, sign an assertion, get a token
    (tmp_path / "jwks.json").write_text(result.stdout)
    reg = cli(
        "agents", "register", "--org", org.org_id, "--name", "cli-agent",
        "--capability", "document.read", "--jwks", str(tmp_path / "jwks.json"),
    )  # fmt: skip
    assert reg.exit_code == 0, reg.output
    agent_id = json.loads(reg.stdout)["agent_id"]
    key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    agent = AgentHandle(org=org, agent_id=agent_id, name="cli-agent", private_key=key, kid="ci-key")
    assert request_token(client, org, agent.assertion()).status_code == 200


def test_keys_generate_without_out_is_a_one_line_error(client):
    result = cli("keys", "generate")
    assert_one_line_error(result, "--out")
    assert result.stdout.count("PRIVATE") == 0


def test_agents_register_with_a_broken_jwks_file_is_a_one_line_error(client, org, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cli("agents", "register", "--org", org.org_id, "--name", "x-agent", "--jwks", str(bad))
    assert_one_line_error(result, "not a JSON file")
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    result = cli(
        "agents", "register", "--org", org.org_id, "--name", "x-agent", "--jwks", str(private)
    )
    assert_one_line_error(result, "oct")


@pytest.mark.parametrize(
    "url",
    ["nonsense", "foo://x/y", "postgresql://nobody@127.0.0.1:1/x", "sqlite:////no/such/dir/x.db"],
    ids=["garbage", "dialect", "refused", "unwritable"],
)
def test_unusable_database_url_is_a_one_line_error(monkeypatch, url):
    with jitgate_env(monkeypatch, database_url=url):
        result = cli("orgs", "create", "Acme", "--json")
    assert_one_line_error(result, "")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("argv", "public_url"),
    [
        (["--port", "8765"], "http://127.0.0.1:8765"),
        (["--host", "0.0.0.0", "--port", "9001"], "http://127.0.0.1:9001"),
        (["--host", "::1", "--port", "9002"], "http://[::1]:9002"),
        (["--host", "10.1.2.3"], "http://10.1.2.3:8000"),
    ],
)
def test_serve_without_a_public_url_names_itself_by_its_own_address(monkeypatch, argv, public_url):
    # given no JITGATE_PUBLIC_URL: tokens are issued for, and assertions must name, this address,
    # so a server on another port than 8000 must not expect its agents to name port 8000
    import uvicorn

    from app.settings import get_settings

    seen: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.append(get_settings().public_url))
    before = os.environ.get("JITGATE_PUBLIC_URL")
    with jitgate_env(monkeypatch, public_url=None):
        result = CliRunner().invoke(main, ["serve", *argv])
    assert result.exit_code == 0, result.output
    assert seen == [public_url]
    assert os.environ.get("JITGATE_PUBLIC_URL") == before  # later tests keep their own


def test_serve_keeps_the_public_url_it_is_given(monkeypatch):
    import uvicorn

    from app.settings import get_settings

    seen: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.append(get_settings().public_url))
    with jitgate_env(monkeypatch, public_url="https://gate.example.com"):
        result = CliRunner().invoke(main, ["serve", "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert seen == ["https://gate.example.com"]


def test_serve_with_several_workers_is_refused_in_embedded_mode(client):
    result = CliRunner().invoke(main, ["serve", "--workers", "2"])

    assert result.exit_code == 1
    assert "--workers needs JITGATE_REDIS_URL" in result.output
    assert "Traceback" not in result.output


@pytest.mark.skipif(
    subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode != 0,
    reason="needs the Redis at 127.0.0.1:6379",
)
@uses_shared_redis
def test_serve_with_several_workers_runs_that_many_web_processes(tmp_path):
    import httpx

    from tests.sdk.live_server import free_port, server_env

    port = free_port()
    db = os.environ.get("JITGATE_TEST_REDIS_DB", "15")
    env = server_env(tmp_path, port) | {"JITGATE_REDIS_URL": f"redis://127.0.0.1:6379/{db}"}
    jitgate = os.path.join(os.path.dirname(sys.executable), "jitgate")
    argv = [jitgate, "serve", "--workers", "2", "--port", str(port)]
    with (tmp_path / "serve.log").open("wb") as log:
        parent = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}", parent), (
            tmp_path / "serve.log"
        ).read_text()
        assert len(spawned_children(parent.pid)) == 2, (tmp_path / "serve.log").read_text()
        # One /metrics adds up every process's counts (prometheus-client's multiprocess mode).
        for _ in range(10):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        line = 'jitgate_http_requests_total{method="GET",route="/healthz",status="200"}'
        assert f"{line} 11.0" in text, [t for t in text.splitlines() if "healthz" in t]
    finally:
        parent.terminate()
        parent.wait(20)


def wait_healthy(base: str, process: subprocess.Popen, timeout: float = 60) -> bool:
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.3)
    return False


def spawned_children(pid: int) -> list[str]:
    """uvicorn's worker processes (multiprocessing spawn), not its resource tracker."""
    with open(f"/proc/{pid}/task/{pid}/children") as kids:
        pids = kids.read().split()
    return [kid for kid in pids if "spawn_main" in open(f"/proc/{kid}/cmdline").read()]


def test_approvers_list_disable_and_rotate_token(client, org):
    # given an approver added from the command line
    added = cli("approvers", "add", "--org", org.org_id, "--email", "cli-apr@example.com")
    approver = json.loads(added.stdout)
    old = {"Authorization": f"Bearer {approver['api_token']}"}
    # when the list is printed, then it names the approver as active
    listed = [
        json.loads(line)
        for line in cli("approvers", "list", "--org", org.org_id).stdout.splitlines()
    ]
    assert {a["approver_id"]: a["status"] for a in listed}[approver["approver_id"]] == "active"
    # when the token is rotated, then the old one stops working and the new one is printed once
    rotated = cli("approvers", "rotate-token", "--org", org.org_id, approver["approver_id"])
    assert rotated.exit_code == 0, rotated.output
    new = {"Authorization": f"Bearer {json.loads(rotated.stdout)['api_token']}"}
    probe = f"{org.api}/jit/requests/jit_none"
    assert client.get(probe, headers=old).status_code == 401
    assert client.get(probe, headers=new).status_code == 404
    # when it is disabled, then the new token is refused too
    disabled = cli("approvers", "disable", "--org", org.org_id, approver["approver_id"])
    assert disabled.exit_code == 0, disabled.output
    assert json.loads(disabled.stdout)["status"] == "disabled"
    assert client.get(probe, headers=new).status_code == 401


def test_approvers_commands_name_the_real_problem(client, org):
    assert_one_line_error(cli("approvers", "list", "--org", "org_nope"), "no organization")
    assert_one_line_error(
        cli("approvers", "disable", "--org", org.org_id, "apr_nope"), "no approver apr_nope"
    )


def test_policies_set_takes_the_slack_and_webhook_settings_by_their_flags(client, org):
    # given an approver
    approver = json.loads(
        cli("approvers", "add", "--org", org.org_id, "--email", "p@example.com").stdout
    )
    # when a JIT policy is set with Slack's channel and the webhook's URL
    setting = cli(
        "policies", "set", "--org", org.org_id, "payments.refund", "--mode", "jit",
        "--approver", approver["approver_id"], "--channel", "slack", "--channel", "webhook",
        "--slack-channel", "#approvals", "--webhook-url", "https://hooks.example.com/jit",
    )  # fmt: skip
    # then the policy holds both, as the API shows them
    assert setting.exit_code == 0, setting.output
    policy = json.loads(setting.stdout)
    assert (policy["slack_channel"], policy["webhook_url"]) == (
        "#approvals",
        "https://hooks.example.com/jit",
    )
    # and a setting the channel refuses is a one-line error naming it
    refused = cli(
        "policies", "set", "--org", org.org_id, "payments.refund", "--mode", "jit",
        "--approver", approver["approver_id"], "--webhook-url", "not a url",
    )  # fmt: skip
    assert_one_line_error(refused, "webhook_url")


def test_policies_set_offers_every_registered_channels_setting(client, org):
    from typing import ClassVar

    from notifiers import registry
    from notifiers.base import ChannelSettings

    class PagerSettings(ChannelSettings):
        slug: ClassVar[str] = "pager"
        pager_team: str | None = None

    # given a channel registered with a setting of its own
    previous = registry.register("pager", lambda: registry.get_notifier("log"), PagerSettings)
    try:
        # when a policy is set with the flag named after that setting
        setting = cli(
            "policies", "set", "--org", org.org_id, "reports.export", "--mode", "standing",
            "--channel", "pager", "--pager-team", "ops",
        )  # fmt: skip
        help_text = cli("policies", "set", "--help").output
    finally:
        registry.restore("pager", previous)
    # then the policy stores it, and the help lists it, with no edit to the command
    assert setting.exit_code == 0, setting.output
    assert json.loads(setting.stdout)["pager_team"] == "ops"
    assert "--pager-team" in help_text


def test_version_and_every_command_has_help():
    import click

    from app.cli import main as cli_main

    version = CliRunner().invoke(cli_main, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("jitgate, version ")

    missing = []

    def walk(command: click.Command, path: list[str]) -> None:
        if not (command.help or command.short_help):
            missing.append(" ".join(path))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(cli_main, ["jitgate"])
    assert missing == []

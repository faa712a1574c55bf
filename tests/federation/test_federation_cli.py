"""`jitgate issuers add|list|remove` and `jitgate agents federate|federations|unfederate`: the
same services and bodies as the API, one-line errors, and a rule made here lets a platform
token (served from a local issuer over loopback HTTP) be exchanged at the real token endpoint."""

import json

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.factories import register_agent
from tests.federation.conftest import exchange, trust
from tests.helpers import audit_events


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def refused(result, mentions: str) -> None:
    """A refusal by the service: exit 1, one `Error: …` line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert mentions in lines[0], lines[0]


def misused(result, mentions: str) -> None:
    """A malformed command line: click's usage error, exit 2, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and mentions in result.output, result.output


def issuers_of(org) -> list[dict]:
    listed = cli("issuers", "list", "--org", org.org_id)
    assert listed.exit_code == 0, listed.output
    return [json.loads(line) for line in listed.output.splitlines()]


def add_k8s(org, kubernetes, *extra: str):
    return cli(
        "issuers", "add", kubernetes.issuer, "--org", org.org_id, "--kind", "workload",
        "--audience", kubernetes.audience, "--jwks-uri", kubernetes.jwks_uri, *extra,
    )  # fmt: skip


@pytest.fixture
def bot(client, org):
    return register_agent(client, org, capabilities=["document.read"])


# --- refusals first -------------------------------------------------------------------------


def test_issuer_without_keys_or_with_both_kinds_of_keys_is_refused(client, org, github, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [github.public_jwk()]}))
    base = ("issuers", "add", github.issuer, "--org", org.org_id, "--kind", "workload")
    refused(cli(*base, "--audience", "jitgate"), "exactly one of jwks or jwks_uri")
    both = cli(
        *base, "--audience", "jitgate", "--jwks-file", str(jwks), "--jwks-uri", github.jwks_uri
    )
    refused(both, "exactly one of jwks or jwks_uri")
    refused(cli(*base, "--jwks-file", str(jwks)), "audiences must list 1 to 10")
    assert issuers_of(org) == []


def test_unreadable_jwks_file_and_unreachable_jwks_uri_are_refused(client, org, server, tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    base = ("issuers", "add", "https://idp.example", "--org", org.org_id, "--kind", "user",
            "--audience", "jitgate")  # fmt: skip
    misused(cli(*base, "--jwks-file", str(junk)), "not a JSON file")
    missing = cli(*base, "--jwks-file", str(tmp_path / "absent.json"))
    misused(missing, "does not exist")
    gone = server.answer("/gone/jwks", "{}", status=404)
    refused(cli(*base, "--jwks-uri", gone), "jwks")
    assert issuers_of(org) == []


def test_wrong_kind_subject_claim_and_unknown_org_are_refused(client, org, kubernetes):
    misused(add_k8s(org, kubernetes, "--subject-claim", "upn"), "--subject-claim")
    bad_kind = cli("issuers", "add", kubernetes.issuer, "--org", org.org_id, "--kind", "robot")
    misused(bad_kind, "--kind")
    nowhere = cli(
        "issuers", "add", kubernetes.issuer, "--org", "org_nope", "--kind", "workload",
        "--audience", "a", "--jwks-uri", kubernetes.jwks_uri,
    )  # fmt: skip
    refused(nowhere, "no organization org_nope")
    refused(cli("issuers", "list", "--org", "org_nope"), "no organization org_nope")
    assert issuers_of(org) == []


def test_an_overlong_name_is_refused_by_the_apis_own_body_rules(client, org, kubernetes):
    refused(add_k8s(org, kubernetes, "--name", "n" * 201), "name: String should have at most 200")
    assert issuers_of(org) == []


def test_the_same_issuer_twice_for_one_kind_is_a_conflict(client, org, kubernetes):
    assert add_k8s(org, kubernetes).exit_code == 0
    refused(add_k8s(org, kubernetes), "already a trusted workload issuer")
    assert len(issuers_of(org)) == 1


def test_federating_through_a_user_issuer_an_unknown_issuer_or_agent_is_refused(
    client, org, bot, kubernetes
):
    user = trust(client, org, kubernetes, kind="user")
    sa = kubernetes.base_claims["sub"]
    base = ("agents", "federate", bot.agent_id, "--org", org.org_id, "--subject", sa)
    # by URL: only workload issuers are looked at, and this one is trusted for users
    refused(cli(*base, "--issuer", kubernetes.issuer), "no trusted workload issuer")
    # by id: the service's own rule
    refused(cli(*base, "--issuer", user["issuer_id"]), "need a workload issuer")
    refused(cli(*base, "--issuer", "tis_nope"), "no trusted issuer tis_nope")
    workload = trust(client, org, kubernetes)
    unknown_agent = cli(
        "agents", "federate", "agt_nope", "--org", org.org_id, "--subject", sa,
        "--issuer", workload["issuer_id"],
    )  # fmt: skip
    refused(unknown_agent, "no agent agt_nope")
    assert cli("agents", "federations", bot.agent_id, "--org", org.org_id).output == ""


def test_malformed_claims_are_usage_errors_and_store_nothing(client, org, bot, kubernetes):
    issuer = trust(client, org, kubernetes)
    base = ("agents", "federate", bot.agent_id, "--org", org.org_id, "--issuer",
            issuer["issuer_id"], "--subject", "s")  # fmt: skip
    misused(cli(*base, "--claim", "no-equals-sign"), "KEY=VALUE")
    misused(cli(*base, "--claim", "=value"), "KEY=VALUE")
    misused(cli(*base, "--claim", "run:=not json"), "must be JSON")
    refused(cli(*base, "--subject", "x" * 513), "subject")
    assert cli("agents", "federations", bot.agent_id, "--org", org.org_id).output == ""


def test_removing_unknown_issuers_and_rules_is_refused(client, org, bot):
    refused(cli("issuers", "remove", "--org", org.org_id, "tis_nope"), "no trusted issuer")
    gone = cli("agents", "unfederate", bot.agent_id, "fed_nope", "--org", org.org_id)
    refused(gone, "no federation rule fed_nope")


def test_another_orgs_issuer_cannot_be_named(client, org, other_org, bot, kubernetes):
    theirs = trust(client, other_org, kubernetes)
    refused(cli("issuers", "remove", "--org", org.org_id, theirs["issuer_id"]), "no trusted issuer")
    federate = cli(
        "agents", "federate", bot.agent_id, "--org", org.org_id, "--subject", "s",
        "--issuer", theirs["issuer_id"],
    )  # fmt: skip
    refused(federate, "no trusted issuer")
    assert len(issuers_of(other_org)) == 1


# --- the whole story ------------------------------------------------------------------------


def test_issuer_and_rule_made_on_the_command_line_let_a_pod_exchange_its_token(
    client, org, bot, kubernetes
):
    # given the cluster trusted with the CLI (keys fetched from its loopback JWKS URL)
    added = add_k8s(org, kubernetes, "--name", "prod cluster")
    assert added.exit_code == 0, added.output
    issuer = json.loads(added.output)
    assert issuer["issuer_id"].startswith("tis_") and issuer["kind"] == "workload"
    assert issuer["created_at"].endswith("Z")
    # and the API shows exactly what the CLI printed
    api = client.get(f"{org.api}/trusted-issuers", headers=org.admin).json()["items"]
    assert api == [issuer] == issuers_of(org)
    # when the service account is bound to the agent, naming the issuer by its URL
    sa = kubernetes.base_claims["sub"]
    made = cli(
        "agents", "federate", bot.agent_id, "--org", org.org_id, "--issuer", kubernetes.issuer,
        "--subject", sa,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    rule = json.loads(made.output)
    assert (rule["issuer_id"], rule["subject"], rule["claims"]) == (issuer["issuer_id"], sa, {})
    # then the pod's platform token becomes the agent's token at the real token endpoint
    resp = exchange(client, org, kubernetes.token())
    assert resp.status_code == 200, resp.text
    # and the changes are audited as the CLI's
    actions = {(e["action"], e["actor"]) for e in audit_events(client, org)}
    assert {("issuer.create", "cli"), ("federation.create", "cli")} <= actions
    # when the rule is listed and removed, the next exchange is refused
    listed = cli("agents", "federations", bot.agent_id, "--org", org.org_id)
    assert [json.loads(line) for line in listed.output.splitlines()] == [rule]
    removed = cli("agents", "unfederate", bot.agent_id, rule["rule_id"], "--org", org.org_id)
    assert removed.exit_code == 0, removed.output
    assert exchange(client, org, kubernetes.token()).status_code == 400
    # and removing the issuer leaves nothing trusted
    gone = cli("issuers", "remove", "--org", org.org_id, issuer["issuer_id"])
    assert gone.exit_code == 0 and issuers_of(org) == []


def test_github_issuer_from_a_jwks_file_with_typed_claims(client, org, bot, github, tmp_path):
    # given GitHub's keys saved to a file (an air-gapped install)
    jwks = tmp_path / "github.jwks.json"
    jwks.write_text(json.dumps({"keys": [github.public_jwk()]}))
    added = cli(
        "issuers", "add", github.issuer, "--org", org.org_id, "--kind", "workload",
        "--audience", "jitgate", "--audience", "https://jitgate.example", "--jwks-file", str(jwks),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    issuer = json.loads(added.output)
    assert issuer["key_ids"] == [github.kid] and issuer["jwks_uri"] is None
    assert issuer["audiences"] == ["jitgate", "https://jitgate.example"]
    # when a rule needs the repository (a string) and a run attempt (a number, typed with :=)
    sub = github.base_claims["sub"]
    base = ("agents", "federate", bot.agent_id, "--org", org.org_id, "--issuer",
            issuer["issuer_id"], "--subject", sub, "--claim", "repository=acme/invoices")  # fmt: skip
    made = cli(*base, "--claim", "run_attempt:=1")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["claims"] == {"repository": "acme/invoices", "run_attempt": 1}
    # then a token with run_attempt 1 (a number) is exchanged, and "1" (a string) is not
    assert exchange(client, org, github.token(run_attempt=1)).status_code == 200
    assert exchange(client, org, github.token(run_attempt="1")).status_code == 400


def test_user_issuer_with_the_email_subject_claim(client, org, github, tmp_path):
    jwks = tmp_path / "idp.jwks.json"
    jwks.write_text(json.dumps({"keys": [github.public_jwk()]}))
    added = cli(
        "issuers", "add", "https://login.acme.example", "--org", org.org_id, "--kind", "user",
        "--audience", "jitgate", "--jwks-file", str(jwks), "--subject-claim", "email",
        "--name", "Acme SSO",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    body = json.loads(added.output)
    assert (body["kind"], body["subject_claim"], body["name"]) == ("user", "email", "Acme SSO")

"""`jitgate resources add|list|remove`: the registry from the command line."""

import json

from click.testing import CliRunner

from app.cli import main


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_resources_add_list_and_remove(client, org):
    # Given an org, when an operator adds a resource with a tool map,
    added = cli(
        "resources", "add", "--org", org.org_id, "--name", "Tools",
        "--uri", "https://tools.example/mcp",
        "--tool", "get_balance=document.read", "--tool", "pay_invoice=payments.authorize",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    row = json.loads(added.output)
    assert row["tools"] == {"get_balance": "document.read", "pay_invoice": "payments.authorize"}
    # then it is listed (and the API sees it),
    listed = cli("resources", "list", "--org", org.org_id)
    assert [json.loads(line)["resource_id"] for line in listed.output.splitlines()] == [
        row["resource_id"]
    ]
    api = client.get(f"{org.api}/resources/{row['resource_id']}", headers=org.admin)
    assert api.status_code == 200
    # and once removed it is gone.
    removed = cli("resources", "remove", "--org", org.org_id, row["resource_id"])
    assert removed.exit_code == 0, removed.output
    assert cli("resources", "list", "--org", org.org_id).output == ""


def test_resources_add_mistakes_are_one_line_errors(client, org):
    bad_tool = cli(
        "resources", "add", "--org", org.org_id, "--name", "T",
        "--uri", "https://tools.example/mcp", "--tool", "no-equals-sign",
    )  # fmt: skip
    assert bad_tool.exit_code == 1
    assert "TOOL=PERMISSION" in bad_tool.output and "Traceback" not in bad_tool.output
    bad_uri = cli(
        "resources", "add", "--org", org.org_id, "--name", "T", "--uri", "http://tools.example/"
    )
    assert bad_uri.exit_code == 1 and "https" in bad_uri.output
    unknown = cli("resources", "remove", "--org", org.org_id, "res_nope")
    assert unknown.exit_code == 1 and "no resource" in unknown.output

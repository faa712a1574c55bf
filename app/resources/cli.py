"""`jitgate resources add|list|remove`: the protected-resource registry from the command line."""

import click

from app.cli.common import CliError, cli_session, echo_json, org_command, org_session


def register(main: click.Group) -> None:
    main.add_command(resources)


@click.group()
def resources() -> None:
    """Protected resources (API and MCP servers tokens may be bound to)."""


def _parse_tools(pairs: tuple[str, ...]) -> dict[str, str]:
    tools: dict[str, str] = {}
    for pair in pairs:
        tool, sep, permission = pair.partition("=")
        if not sep:
            raise CliError(f"--tool {pair!r}: write it as TOOL=PERMISSION")
        tools[tool.strip()] = permission.strip()
    return tools


@org_command(resources.command("add"))
@click.option("--name", required=True)
@click.option("--uri", "resource_uri", required=True, help="The server's URI (token audience).")
@click.option("--kind", type=click.Choice(["mcp", "api"]), default="mcp", show_default=True)
@click.option("--tool", "tools", multiple=True, help="TOOL=PERMISSION; repeat for each tool.")
@click.option("--default-permission", default=None)
def resources_add(
    org_id: str,
    name: str,
    resource_uri: str,
    kind: str,
    tools: tuple[str, ...],
    default_permission: str | None,
) -> None:
    """Register a protected API or MCP server and its tool -> permission map."""
    from app.resources import service

    body = {
        "name": name,
        "resource_uri": resource_uri,
        "kind": kind,
        "tools": _parse_tools(tools),
        "default_permission": default_permission,
    }
    with org_session(org_id) as session:
        row = service.create(session, org_id=org_id, body=body, actor="cli")
        echo_json([service.public(row)])


@org_command(resources.command("list"))
def resources_list(org_id: str) -> None:
    """List an org's protected resources, one JSON object per line."""
    from app.resources import service

    with cli_session() as session:
        echo_json([service.public(row) for row in service.list_resources(session, org_id=org_id)])


@org_command(resources.command("remove"))
@click.argument("resource_id")
def resources_remove(org_id: str, resource_id: str) -> None:
    """Remove a protected resource (tokens already issued for it keep their audience until they expire)."""
    from app.resources import service

    with cli_session() as session:
        service.delete(session, org_id=org_id, resource_id=resource_id, actor="cli")
    click.echo(f"removed {resource_id}")

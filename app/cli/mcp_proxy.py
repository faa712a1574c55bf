"""`jitgate mcp-proxy`: a thin entry to jitgate.mcp.proxy (the proxy lives with the SDK's MCP code)."""

import os

import click

from app.cli.common import CliError

MISSING_MCP = "jitgate mcp-proxy needs the mcp package (>= 2.3): pip install 'jitgate[mcp]'"


def register(main: click.Group) -> None:
    main.add_command(mcp_proxy)


def _proxy_module():  # type: ignore[no-untyped-def]
    try:
        from jitgate.mcp import proxy
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in ("mcp", "mcp_types", "httpx2"):
            raise CliError(MISSING_MCP) from None
        raise
    return proxy


def _headers(pairs: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            raise CliError(f"--upstream-header {pair!r}: write it as 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


@click.command("mcp-proxy")
@click.option("--org", "org_id", envvar="JITGATE_ORG_ID", required=True)
@click.option("--resource", "resource_uri", required=True, help="The proxy's registered URI.")
@click.option("--upstream-command", default=None, help='The server to run over stdio: "CMD ARGS".')
@click.option("--upstream-url", default=None, help="The server's streamable HTTP URL.")
@click.option(
    "--upstream-header", multiple=True, help="'Name: value' sent to --upstream-url (repeatable)."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--jitgate-url", envvar="JITGATE_PUBLIC_URL", default="http://127.0.0.1:8000")
@click.option("--jit-wait", default=60.0, show_default=True, type=click.FloatRange(1, 3600))
@click.option(
    "--active-cache-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, 300),
    help="How long jitgate's answer 'this token is live' is reused (revocation, suspension).",
)
def mcp_proxy(
    org_id: str,
    resource_uri: str,
    upstream_command: str | None,
    upstream_url: str | None,
    upstream_header: tuple[str, ...],
    host: str,
    port: int,
    jitgate_url: str,
    jit_wait: float,
    active_cache_seconds: float,
) -> None:
    """Serve an existing MCP server's tools over streamable HTTP at http://HOST:PORT/mcp,
    behind jitgate tokens, per-tool rules and JIT approval; every call audited.

    Reads the resource's tool map with JITGATE_ADMIN_TOKEN (an admin token of the org)."""
    admin_token = os.environ.get("JITGATE_ADMIN_TOKEN")
    if not admin_token:
        raise CliError("set JITGATE_ADMIN_TOKEN (the org's admin token: tool map and audit)")
    proxy = _proxy_module()
    from jitgate.mcp.gate import McpGate

    try:
        upstream = proxy.Upstream(
            command=upstream_command, url=upstream_url, headers=_headers(upstream_header)
        )
    except ValueError as exc:
        raise CliError(f"{exc} (--upstream-command or --upstream-url)") from None
    gate = McpGate(
        jitgate_url=jitgate_url,
        org_id=org_id,
        resource_uri=resource_uri,
        admin_token=admin_token,
        jit_wait=jit_wait,
        check_active=True,  # a suspended agent or revoked token stops within the cache seconds
        active_cache_seconds=active_cache_seconds,
    )
    click.echo(f"jitgate mcp-proxy: {resource_uri} -> http://{host}:{port}/mcp", err=True)
    proxy.run(gate, upstream, host=host, port=port)

"""The `jitgate` command line: serve, orgs, admin tokens, keys, agents, approvers, policies, audit, demo."""

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from app.cli.common import CliError, cli_session, echo_json, friendly, org_command


@click.group()
@click.version_option(package_name="jitgate", prog_name="jitgate")
def main() -> None:
    """jitgate: identity, scoped tokens and just-in-time approval for AI agents."""


# uvicorn's loggers go to our root handler (JITGATE_LOG_FORMAT), and its access line, which
# prints raw paths, gives way to ours (route templates; app/http/request_log.py).
UVICORN_LOGGING: dict[str, Any] = {"log_config": None, "access_log": False}


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web processes (Redis mode only: embedded state lives in one process).",
)
@friendly
def serve(host: str, port: int, workers: int) -> None:
    """Run the service (everything in one process unless JITGATE_REDIS_URL is set)."""
    import uvicorn

    from app.settings import get_settings

    _name_itself(host, port)
    if workers == 1:
        from app.main import create_app

        uvicorn.run(create_app(), host=host, port=port, proxy_headers=True, **UVICORN_LOGGING)
        return
    if get_settings().embedded:
        raise CliError(
            "--workers needs JITGATE_REDIS_URL: the embedded mode keeps its worker, "
            "event bus and replay store in one process"
        )
    with cli_session():  # migrate once here, not in N processes racing at start-up
        pass
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # One /metrics for N processes: prometheus-client adds up their files at each scrape.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jitgate-metrics-")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        **UVICORN_LOGGING,
    )


def _name_itself(host: str, port: int) -> None:
    """Without JITGATE_PUBLIC_URL the service is the address it listens on: tokens name it as
    their issuer and assertions must name it as their audience, so `serve --port 8765` must not
    go on expecting port 8000. A wildcard bind is reached locally as 127.0.0.1; behind a proxy,
    set JITGATE_PUBLIC_URL. Set in the environment, so `--workers` processes read it too."""
    from app.settings import get_settings

    if "public_url" in get_settings().model_fields_set:
        return
    wildcard = ("", "0.0.0.0", "::")  # noqa: S104 (names of a wildcard bind, not a bind)
    shown = "127.0.0.1" if host in wildcard else host
    shown = f"[{shown}]" if ":" in shown else shown
    os.environ["JITGATE_PUBLIC_URL"] = f"http://{shown}:{port}"
    get_settings.cache_clear()


@main.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("name")
@click.option("--slug", default=None, help="Use this id instead of a generated org_… id.")
@click.option(
    "--admin-email", default=None, help="The first admin's address, for emailed portal sign-in."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly
def orgs_create(name: str, slug: str | None, admin_email: str | None, as_json: bool) -> None:
    """Create an organization and its first admin token."""
    from app.identity import orgs as org_service

    with cli_session() as session:
        org, issued = org_service.create_org(session, name=name, slug=slug, admin_email=admin_email)
    if as_json:
        click.echo(json.dumps({"org_id": org.id, "admin_token": issued.token}))
    else:
        click.echo(
            f"org_id:      {org.id}\nadmin_token: {issued.token}  (shown once; keep it secret)"
        )


@main.group("admin-tokens")
def admin_tokens() -> None:
    """Admin tokens."""


@org_command(admin_tokens.command("create"))
@click.option("--label", default="")
@click.option("--email", default=None, help="Its holder's address, for emailed portal sign-in.")
@click.option("--json", "as_json", is_flag=True)
def admin_tokens_create(org_id: str, label: str, email: str | None, as_json: bool) -> None:
    """Create an admin token for an org (shown once)."""
    from app.identity import orgs as org_service

    with cli_session() as session:
        issued = org_service.create_admin_token(session, org_id=org_id, label=label, email=email)
    if as_json:
        click.echo(json.dumps({"token_id": issued.token_id, "admin_token": issued.token}))
    else:
        click.echo(f"token_id:    {issued.token_id}\nadmin_token: {issued.token}  (shown once)")


@org_command(admin_tokens.command("revoke"))
@click.argument("token_id")
def admin_tokens_revoke(org_id: str, token_id: str) -> None:
    """Revoke an admin token: it stops working at once, with its portal sessions."""
    from app.identity import orgs as org_service

    with cli_session() as session:
        org_service.revoke_admin_token(session, org_id=org_id, token_id=token_id)
    click.echo(f"revoked {token_id}")


@main.group()
def keys() -> None:
    """Agent key pairs and the service's signing key."""


@keys.command("generate")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the private key (agent.pem); default: print nothing private.",
)
@click.option("--kid", default=None)
@friendly
def keys_generate(out_dir: Path | None, kid: str | None) -> None:
    """Make an agent's Ed25519 key pair: private PEM to a file, public JWKS on stdout."""
    from app.identity.agent_keypair import generate

    pem, jwks = generate(kid=kid)
    if out_dir is None:
        raise CliError("--out DIR is required: the private key is written to DIR/agent.pem")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "agent.pem"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(pem)
    (out_dir / "agent.jwks.json").write_text(json.dumps(jwks, indent=2))
    click.echo(json.dumps(jwks))
    click.echo(f"private key written to {path}", err=True)


@keys.command("rotate-signing")
@click.option("--org", "org_id", default=None, help="Only this org's key (default: every org's).")
@friendly
def keys_rotate_signing(org_id: str | None) -> None:
    """Rotate orgs' signing keys; each old key stays published until its tokens expire."""
    from sqlmodel import select

    from app.audit import service as audit
    from app.identity.keys import rotate_signing_key
    from app.models import Org

    with cli_session() as session:
        if org_id is not None and session.get(Org, org_id) is None:
            raise CliError(f"no organization {org_id}")
        rotated = {}
        for org in [org_id] if org_id else session.exec(select(Org.id)).all():
            rotated[org] = rotate_signing_key(session, org_id=org).kid
            audit.record_success(session, org, "cli", "signing_key.rotate", rotated[org])
    for org, kid in rotated.items():
        click.echo(f"{org}: new signing key {kid}")
    click.echo("previous keys stay in the JWKS until every token they signed has expired")


@main.group()
def agents() -> None:
    """Agents."""


@org_command(agents.command("register"))
@click.option("--name", required=True)
@click.option("--capability", "capabilities", multiple=True, help="Repeat for each capability.")
@click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jwks-uri", default=None)
@click.option("--owner", default=None)
def agents_register(
    org_id: str,
    name: str,
    capabilities: tuple[str, ...],
    jwks_file: Path | None,
    jwks_uri: str | None,
    owner: str | None,
) -> None:
    """Register an agent with its capabilities and public keys (a JWKS file or a JWKS URL)."""
    from app.identity import agents as agent_service

    jwks = _read_json(jwks_file) if jwks_file else None
    with cli_session() as session:
        agent, kids = agent_service.register(
            session,
            org_id=org_id,
            name=name,
            capabilities=list(capabilities),
            jwks=jwks,
            jwks_uri=jwks_uri,
            owner=owner,
            actor="cli",
        )
    shown = {"agent_id": agent.id, "name": agent.name, "capabilities": agent.capabilities}
    echo_json([{**shown, "key_ids": kids}])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: not a JSON file ({exc})") from None


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--org", "org_id", default=None, help="One org (default: every org).")
@friendly
def audit_verify(org_id: str | None) -> None:
    """Recompute the hash chain; name the first broken link."""
    from sqlmodel import select

    from app.audit import service as audit_service
    from app.audit import verification
    from app.models import Org

    broken = False
    audit_service.writer.flush()
    with cli_session() as session:
        org_ids = [org_id] if org_id else list(session.exec(select(Org.id)).all())
        for oid in org_ids:
            report = verification.verify_chain(session, oid)
            if report.broken_seq is None:
                click.echo(f"{oid}: ok, {report.checked} events")
            else:
                broken = True
                click.echo(
                    f"{oid}: BROKEN at event {report.broken_seq}: {report.problem} "
                    f"({report.checked} events before it are intact)"
                )
    if broken:
        sys.exit(1)


def _register_optional_commands() -> None:
    """Commands that live with their feature (approvers, policies, demo)."""
    import importlib

    for name in (
        "app.cli.jit",
        "app.cli.demo",
        "app.resources.cli",
        "app.identity.cli",
        "app.cli.mcp_proxy",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(main)


_register_optional_commands()


if __name__ == "__main__":
    main()

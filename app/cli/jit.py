"""`jitgate approvers add` and `jitgate policies set`: the JIT set-up from the command line."""

import json
from typing import Any

import click

from app.cli.common import cli_session, friendly


def register(main: click.Group) -> None:
    main.add_command(approvers)
    main.add_command(policies)


@click.group()
def approvers() -> None:
    """Approvers (the humans who decide JIT requests)."""


@approvers.command("add")
@click.option("--org", "org_id", required=True)
@click.option("--email", required=True)
@click.option("--name", default=None)
@click.option("--slack-user-id", default=None)
@click.option("--group", "groups", multiple=True, help="Repeat for each group.")
@friendly
def approvers_add(
    org_id: str, email: str, name: str | None, slack_user_id: str | None, groups: tuple[str, ...]
) -> None:
    """Add an approver (its API token, shown once, also signs in to the dashboard)."""
    from app.approvers import service

    with cli_session() as session:
        created = service.create(
            session,
            org_id=org_id,
            email=email,
            name=name,
            slack_user_id=slack_user_id,
            groups=list(groups),
            actor="cli",
        )
    body = {**service.public(created.approver), "api_token": created.api_token}
    click.echo(json.dumps(body, default=str))


@approvers.command("list")
@click.option("--org", "org_id", required=True)
@friendly
def approvers_list(org_id: str) -> None:
    """One JSON object per line: the org's active and disabled approvers."""
    from app.approvers import service

    with cli_session() as session:
        _require_org(session, org_id)
        rows = [service.public(a) for a in service.list_approvers(session, org_id=org_id)]
    for row in rows:
        click.echo(json.dumps(row, default=str))


@approvers.command("disable")
@click.option("--org", "org_id", required=True)
@click.argument("approver_id")
@friendly
def approvers_disable(org_id: str, approver_id: str) -> None:
    """Stop an approver at once: token, dashboard sessions, Slack and email decisions."""
    from app.approvers import lifecycle as approver_lifecycle
    from app.approvers import service as approvers

    with cli_session() as session:
        changed = approver_lifecycle.update(
            session,
            org_id=org_id,
            approver_id=approver_id,
            changes={"status": "disabled"},
            actor="cli",
        )
        body = {**approvers.public(changed.approver), "warnings": changed.warnings}
    for warning in changed.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(json.dumps(body, default=str))


@approvers.command("rotate-token")
@click.option("--org", "org_id", required=True)
@click.argument("approver_id")
@friendly
def approvers_rotate_token(org_id: str, approver_id: str) -> None:
    """Issue a new jgapr_ token (printed once); the old one and its sessions stop working."""
    from app.approvers import lifecycle as approver_lifecycle
    from app.approvers import service as approvers

    with cli_session() as session:
        rotated = approver_lifecycle.rotate_token(
            session, org_id=org_id, approver_id=approver_id, actor="cli"
        )
        body = {**approvers.public(rotated.approver), "api_token": rotated.api_token}
    click.echo(json.dumps(body, default=str))


def _require_org(session: Any, org_id: str) -> None:
    """An empty list for a mistyped org would look like an org without approvers."""
    from app.core.errors import NotFound
    from app.models import Org

    if session.get(Org, org_id) is None:
        raise NotFound(f"no organization {org_id!r}")


@click.group()
def policies() -> None:
    """Policies (how each permission is granted)."""


@policies.command("set")
@click.option("--org", "org_id", required=True)
@click.argument("permission")
@click.option("--mode", type=click.Choice(["standing", "jit", "deny"]), required=True)
@click.option("--approver", "approver_ids", multiple=True, help="Approver id; repeat.")
@click.option("--group", "groups", multiple=True, help="Approver group; repeat.")
@click.option("--approvals-required", type=int, default=1, show_default=True)
@click.option("--max-token-ttl", default="10m", show_default=True)
@click.option("--pending-timeout", default="15m", show_default=True)
@click.option("--channel", "channels", multiple=True, help="slack, email, websocket, webhook, log")
@click.option("--slack-channel", default=None)
@click.option("--webhook-url", default=None)
@click.option("--allow-self-approval", is_flag=True)
@click.option("--auto-approve", is_flag=True)
@friendly
def policies_set(
    org_id: str,
    permission: str,
    mode: str,
    approver_ids: tuple[str, ...],
    groups: tuple[str, ...],
    approvals_required: int,
    max_token_ttl: str,
    pending_timeout: str,
    channels: tuple[str, ...],
    slack_channel: str | None,
    webhook_url: str | None,
    allow_self_approval: bool,
    auto_approve: bool,
) -> None:
    """Create the policy for PERMISSION, or replace it if one exists."""
    from sqlmodel import select

    from app.authz import policies as service
    from app.models import Policy

    body = {
        "permission": permission,
        "mode": mode,
        "approvers": list(approver_ids),
        "groups": list(groups),
        "approvals_required": approvals_required,
        "max_token_ttl": max_token_ttl,
        "pending_timeout": pending_timeout,
        "channels": list(channels) or None,
        "slack_channel": slack_channel,
        "webhook_url": webhook_url,
        "allow_self_approval": allow_self_approval,
        "auto_approve": auto_approve,
    }
    with cli_session() as session:
        existing = session.exec(
            select(Policy).where(Policy.org_id == org_id, Policy.permission == permission)
        ).first()
        if existing is None:
            policy = service.create(session, org_id=org_id, body=body, actor="cli")
        else:
            policy = service.replace(
                session, org_id=org_id, policy_id=existing.id, body=body, actor="cli"
            )
        out = service.public(policy)
    click.echo(json.dumps(out, default=str))

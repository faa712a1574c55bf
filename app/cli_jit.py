"""`jitgate approvers add` and `jitgate policies set`: the JIT set-up from the command line."""

import json

import click

from app.cli_common import cli_session, friendly


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
    from app.services import approvers as service

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

    from app.models import Policy
    from app.services import policies as service

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
        out = {"policy_id": policy.id, **policy.model_dump(exclude={"id", "org_id"})}
    click.echo(json.dumps(out, default=str))

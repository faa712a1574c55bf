"""`jitgate approvers add` and `jitgate policies set`: the JIT set-up from the command line."""

import click

from app.cli.common import cli_session, echo_json, org_command, org_session


def register(main: click.Group) -> None:
    main.add_command(approvers)
    main.add_command(policies)


@click.group()
def approvers() -> None:
    """Approvers (the humans who decide JIT requests)."""


@org_command(approvers.command("add"))
@click.option("--email", required=True)
@click.option("--name", default=None)
@click.option("--slack-user-id", default=None)
@click.option("--group", "groups", multiple=True, help="Repeat for each group.")
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
    echo_json([{**service.public(created.approver), "api_token": created.api_token}])


@org_command(approvers.command("list"))
def approvers_list(org_id: str) -> None:
    """One JSON object per line: the org's active and disabled approvers."""
    from app.approvers import service

    with org_session(org_id) as session:
        rows = [service.public(a) for a in service.list_approvers(session, org_id=org_id)]
    echo_json(rows)


@org_command(approvers.command("disable"))
@click.argument("approver_id")
def approvers_disable(org_id: str, approver_id: str) -> None:
    """Stop an approver at once: token, dashboard sessions, Slack and email decisions."""
    from app.approvers import lifecycle, service

    with cli_session() as session:
        changes = {"status": "disabled"}
        changed = lifecycle.update(
            session, org_id=org_id, approver_id=approver_id, changes=changes, actor="cli"
        )
        body = {**service.public(changed.approver), "warnings": changed.warnings}
    for warning in changed.warnings:
        click.echo(f"Warning: {warning}", err=True)
    echo_json([body])


@org_command(approvers.command("rotate-token"))
@click.argument("approver_id")
def approvers_rotate_token(org_id: str, approver_id: str) -> None:
    """Issue a new jgapr_ token (printed once); the old one and its sessions stop working."""
    from app.approvers import lifecycle, service

    with cli_session() as session:
        rotated = lifecycle.rotate_token(
            session, org_id=org_id, approver_id=approver_id, actor="cli"
        )
        body = {**service.public(rotated.approver), "api_token": rotated.api_token}
    echo_json([body])


class TakesChannels(click.Command):
    """A command that also takes --channel (a slug; repeat) and every channel's own policy
    setting (--slack-channel, --webhook-url, …), as the channel registry has them when it runs:
    the API's body and the portal's form read the same registry, so a new channel or setting
    needs no edit here."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        from notifiers import registry

        slugs = ", ".join(registry.channels())
        channels = click.Option(["--channel", "channels"], multiple=True, help=f"{slugs}; repeat.")
        settings = [
            click.Option([f"--{name.replace('_', '-')}", name], default=None, help=field.label)
            for name, field in registry.form_fields().items()
        ]
        params = super().get_params(ctx)  # its own, then --help
        mine = len(self.params)
        return [*params[:mine], channels, *settings, *params[mine:]]


@click.group()
def policies() -> None:
    """Policies (how each permission is granted)."""


@org_command(policies.command("set", cls=TakesChannels))
@click.argument("permission")
@click.option("--mode", type=click.Choice(["standing", "jit", "deny"]), required=True)
@click.option("--approver", "approver_ids", multiple=True, help="Approver id; repeat.")
@click.option("--group", "groups", multiple=True, help="Approver group; repeat.")
@click.option("--approvals-required", type=int, default=1, show_default=True)
@click.option("--max-token-ttl", default="10m", show_default=True)
@click.option("--pending-timeout", default="15m", show_default=True)
@click.option("--allow-self-approval", is_flag=True)
@click.option("--auto-approve", is_flag=True)
def policies_set(
    org_id: str,
    permission: str,
    mode: str,
    approver_ids: tuple[str, ...],
    groups: tuple[str, ...],
    approvals_required: int,
    max_token_ttl: str,
    pending_timeout: str,
    allow_self_approval: bool,
    auto_approve: bool,
    channels: tuple[str, ...],
    **channel_settings: str | None,
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
        **channel_settings,
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
    echo_json([out])

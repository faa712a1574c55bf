"""`jitgate issuers add|list|remove` and `jitgate agents federate|federations|unfederate`:
trusted issuers and workload federation rules from the command line.

The bodies go through the API's own request models and services, and answers are printed
in the API's response shape (one JSON object per line), so the two never disagree.
"""

import json
from pathlib import Path
from typing import Any

import click

from app.cli.common import body_of, cli_session, echo_json, org_command, org_session


def register(main: click.Group) -> None:
    main.add_command(issuers)
    agents = main.commands["agents"]
    assert isinstance(agents, click.Group)
    for command in (agents_federate, agents_federations, agents_unfederate):
        agents.add_command(command)


def _read_jwks(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        message = f"{path}: not a JSON file ({exc})"
        raise click.BadParameter(message, param_hint="--jwks-file") from None


def _parse_claims(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`KEY=VALUE` is a string; `KEY:=JSON` a number or boolean (httpie's spelling), because a
    rule compares claims exactly and `5` is not `"5"`."""
    claims: dict[str, Any] = {}
    for pair in pairs:
        key, typed, raw = pair.partition(":=")
        if typed and "=" not in key:
            try:
                claims[key] = json.loads(raw)
            except ValueError:
                raise click.BadParameter(
                    f"{pair!r}: the value after := must be JSON (5, true)", param_hint="--claim"
                ) from None
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{pair!r}: write KEY=VALUE or KEY:=JSON", param_hint="--claim"
            )
        claims[key] = value
    return claims


@click.group()
def issuers() -> None:
    """Trusted token issuers (user sign-in or workload platforms such as Kubernetes, CI)."""


@org_command(issuers.command("add"))
@click.argument("issuer")
@click.option("--kind", type=click.Choice(["user", "workload"]), required=True)
@click.option("--audience", "audiences", multiple=True, help="An accepted `aud`; repeat.")
@click.option("--jwks-uri", default=None, help="Where the issuer publishes its keys.")
@click.option(
    "--jwks-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The issuer's public keys as a JWKS file, instead of --jwks-uri.",
)
@click.option("--name", default=None)
@click.option("--subject-claim", type=click.Choice(["sub", "email"]), default="sub")
def issuers_add(
    org_id: str,
    issuer: str,
    kind: str,
    audiences: tuple[str, ...],
    jwks_uri: str | None,
    jwks_file: Path | None,
    name: str | None,
    subject_claim: str,
) -> None:
    """Trust ISSUER (its `iss`) for users or workloads of an org; prints the issuer."""
    from app.identity import issuers as service
    from app.identity.schemas import IssuerIn, IssuerPublic

    body = body_of(
        IssuerIn,
        issuer=issuer,
        kind=kind,
        audiences=list(audiences),
        jwks=_read_jwks(jwks_file) if jwks_file else None,
        jwks_uri=jwks_uri,
        name=name,
        subject_claim=subject_claim,
    )
    with org_session(org_id) as session:
        row = service.create_issuer(session, org_id=org_id, actor="cli", **body)
        out = IssuerPublic.of(row)
    echo_json([out])


@org_command(issuers.command("list"))
def issuers_list(org_id: str) -> None:
    """An org's trusted issuers, one JSON object per line."""
    from app.identity import issuers as service
    from app.identity.schemas import IssuerPublic

    with org_session(org_id) as session:
        rows = [IssuerPublic.of(r) for r in service.list_issuers(session, org_id=org_id)]
    echo_json(rows)


@org_command(issuers.command("remove"))
@click.argument("issuer_id")
def issuers_remove(org_id: str, issuer_id: str) -> None:
    """Stop trusting an issuer; its federation rules go with it (no exchange through it after)."""
    from app.identity import issuers as service

    with cli_session() as session:
        service.delete_issuer(session, org_id=org_id, issuer_id=issuer_id, actor="cli")
    click.echo(f"removed {issuer_id} and its federation rules")


@org_command(click.command("federate"))
@click.argument("agent_id")
@click.option("--issuer", required=True, help="The workload issuer: its id (tis_…) or its URL.")
@click.option("--subject", required=True, help="The platform token's exact `sub`.")
@click.option(
    "--claim",
    "claims",
    multiple=True,
    help="KEY=VALUE (or KEY:=JSON) the token must carry; repeat.",
)
def agents_federate(
    org_id: str, agent_id: str, issuer: str, subject: str, claims: tuple[str, ...]
) -> None:
    """Let a workload's platform token (ISSUER, exact SUBJECT and claims) act as AGENT_ID."""
    from app.identity import issuers as service
    from app.identity.schemas import RuleIn, RulePublic

    wanted = _parse_claims(claims)
    with org_session(org_id) as session:
        issuer_id = service.issuer_id_for(session, org_id=org_id, issuer=issuer, kind="workload")
        body = body_of(RuleIn, issuer_id=issuer_id, subject=subject, claims=wanted or None)
        rule = service.create_rule(session, org_id=org_id, agent_id=agent_id, actor="cli", **body)
        out = RulePublic.of(rule)
    echo_json([out])


@org_command(click.command("federations"))
@click.argument("agent_id")
def agents_federations(org_id: str, agent_id: str) -> None:
    """An agent's federation rules, one JSON object per line."""
    from app.identity import issuers as service
    from app.identity.schemas import RulePublic

    with org_session(org_id) as session:
        rules = service.list_rules(session, org_id=org_id, agent_id=agent_id)
        rows = [RulePublic.of(r) for r in rules]
    echo_json(rows)


@org_command(click.command("unfederate"))
@click.argument("agent_id")
@click.argument("rule_id")
def agents_unfederate(org_id: str, agent_id: str, rule_id: str) -> None:
    """Delete one federation rule: the next exchange through it is refused."""
    from app.identity import issuers as service

    with cli_session() as session:
        service.delete_rule(session, org_id=org_id, agent_id=agent_id, rule_id=rule_id, actor="cli")
    click.echo(f"removed {rule_id}")

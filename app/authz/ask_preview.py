"""How the Ask API reads a question for a chosen agent, shown to the org's admins: a dry run.

The same interpreter, catalog and per-permission rules (`check.decide`, through `ask.answer`)
as POST /agents/ask, with three differences, all because no agent is asking:
- there is no agent token, so the token-scope rule is skipped (`token_scope=None`): the answer
  is the one the agent would get with a token of the default scope (every standing capability);
- nothing is decided for the agent: no decision_id, no `authz.ask` event in its name, nothing
  counted against its rate limit or the overview's "decisions today";
- the admin's look is itself audited, as `authz.ask_preview` by the admin token, with
  `dry_run: true`, so the trail shows who probed which agent with what question.
"""

from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.authz import ask, check
from app.authz.catalog_cache import catalog_for, remembering
from app.authz.interpreter import get_interpreter
from app.core.errors import NotFound, RuleViolation
from app.identity import agents
from app.settings import get_settings

ACTION = "authz.ask_preview"


def preview(
    session: Session, *, org_id: str, agent_id: str, question: str, actor: str
) -> dict[str, Any]:
    """The body POST /agents/ask would answer this agent (without a decision_id)."""
    if not question.strip():
        raise RuleViolation("question must not be empty")
    agent = agents.get(session, org_id=org_id, agent_id=agent_id)
    facts = check.agent_facts(org_id, agent.id)
    if facts is None:  # deleted between the two reads
        raise NotFound(f"no agent {agent_id} in this organization")

    def decide(permission: str) -> ask.PermissionDecision:
        d = check.decide(org_id=org_id, subject=facts, permission=permission, token_scope=None)
        return ask.PermissionDecision(d.allowed, d.reason, d.jit_required, d.policy_id, d.mode)

    catalog = catalog_for(org_id)  # the Ask route's own cache (dropped when a permission changes)
    result = ask.answer(
        question=question,
        catalog=catalog.entries,
        decide=decide,
        interpreter=remembering(catalog, get_interpreter(get_settings())),
        held=facts.capabilities,
    )
    _audit(session, org_id=org_id, actor=actor, agent_id=agent.id, question=question, result=result)
    return result


def _audit(
    session: Session,
    *,
    org_id: str,
    actor: str,
    agent_id: str,
    question: str,
    result: dict[str, Any],
) -> None:
    audit.record(
        session,
        audit.EventIn(
            org_id=org_id,
            actor=actor,
            action=ACTION,
            target=agent_id,
            outcome="allowed" if result["allowed"] else "denied",
            reason=result["reason"],
            details={
                "dry_run": True,
                "question": question[:2000],
                "permissions": [p["permission"] for p in result["permissions"]],
                "unresolved": result["unresolved"],
            },
        ),
    )

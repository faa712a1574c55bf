"""An agent as the API shows it (the registration routes and the admin portal)."""

from dataclasses import asdict

from sqlmodel import Session

from app.identity import agents, rate_limits
from app.identity.access_tokens import token_endpoint_for
from app.identity.schemas import AgentPublic
from app.models import Agent


def public_view(session: Session, agent: Agent, key_ids: list[str] | None = None) -> AgentPublic:
    return AgentPublic(
        agent_id=agent.id,
        name=agent.name,
        capabilities=agent.capabilities,
        status=agent.status,
        key_ids=key_ids if key_ids is not None else agents.key_ids(session, agent),
        jwks_uri=agent.jwks_uri,
        owner=agent.owner,
        description=agent.description,
        token_endpoint=token_endpoint_for(agent.org_id),
        budget=asdict(rate_limits.effective_budget(agent.budget)),
        budget_overrides=agent.budget or {},
        created_at=agent.created_at,
    )

"""Agent registry routes (admin token)."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response
from sqlmodel import Session

from app.authz import check as authz
from app.core.db import after_commit
from app.http.deps import CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Cursor, Limit, page
from app.identity import agents, assertions, rate_limits
from app.identity.access_tokens import token_endpoint_for
from app.models import Agent
from app.schemas import AgentJwks, AgentPatch, AgentPublic, AgentRegister

router = APIRouter(tags=["agents"])


def _forget(session: Session, org_id: str, agent_id: str) -> None:
    """Once the change commits, drop this process's cached view of the agent (other processes
    follow within decision_cache_seconds)."""

    def forget() -> None:
        authz.invalidate_agent(org_id, agent_id)
        assertions.forget_agent(agent_id)

    after_commit(session, forget)


def _public(session: Session, agent: Agent, key_ids: list[str] | None = None) -> AgentPublic:
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


@router.post("/agents/register", status_code=201, response_model=AgentPublic)
def register(
    org_id: OrgId, body: AgentRegister, session: SessionDep, admin: CurrentAdmin
) -> AgentPublic:
    agent, kids = agents.register(session, org_id=org_id, actor=admin.id, **body.model_dump())
    return _public(session, agent, kids)


@router.get("/agents")
def list_agents(
    org_id: OrgId,
    session: SessionDep,
    _admin: CurrentAdmin,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    rows = agents.list_agents(session, org_id=org_id)
    render = lambda a: _public(session, a).model_dump(mode="json")  # noqa: E731
    return page(rows, limit=limit, cursor=cursor, key=lambda a: a.id, render=render)


@router.get("/agents/{agent_id}", response_model=AgentPublic)
def get_agent(
    org_id: OrgId, agent_id: str, session: SessionDep, _admin: CurrentAdmin
) -> AgentPublic:
    return _public(session, agents.get(session, org_id=org_id, agent_id=agent_id))


@router.patch("/agents/{agent_id}", response_model=AgentPublic)
def patch_agent(
    org_id: OrgId, agent_id: str, body: AgentPatch, session: SessionDep, admin: CurrentAdmin
) -> AgentPublic:
    agent = agents.update(
        session,
        org_id=org_id,
        agent_id=agent_id,
        actor=admin.id,
        changes=body.model_dump(exclude_unset=True),
    )
    _forget(session, org_id, agent.id)
    return _public(session, agent)


@router.put("/agents/{agent_id}/jwks", response_model=AgentPublic)
def rotate_jwks(
    org_id: OrgId, agent_id: str, body: AgentJwks, session: SessionDep, admin: CurrentAdmin
) -> AgentPublic:
    agent, kids = agents.rotate_keys(
        session,
        org_id=org_id,
        agent_id=agent_id,
        actor=admin.id,
        jwks=body.jwks,
        jwks_uri=body.jwks_uri,
    )
    _forget(session, org_id, agent.id)
    return _public(session, agent, kids)


@router.delete("/agents/{agent_id}", status_code=204)
def delete_agent(
    org_id: OrgId, agent_id: str, session: SessionDep, admin: CurrentAdmin
) -> Response:
    agents.remove(session, org_id=org_id, agent_id=agent_id, actor=admin.id)
    _forget(session, org_id, agent_id)
    return Response(status_code=204)

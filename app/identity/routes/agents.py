"""Agent registry routes (admin token)."""

from typing import Any

from fastapi import APIRouter, Response

from app.http.deps import ADMIN_ONLY, CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Paging
from app.identity import agents
from app.identity.agent_views import public_view
from app.identity.schemas import AgentJwks, AgentPatch, AgentPublic, AgentRegister

router = APIRouter(tags=["agents"], dependencies=[ADMIN_ONLY])


@router.post("/agents/register", status_code=201, response_model=AgentPublic)
def register(
    org_id: OrgId, body: AgentRegister, session: SessionDep, admin: CurrentAdmin
) -> AgentPublic:
    agent, kids = agents.register(session, org_id=org_id, actor=admin.id, **body.model_dump())
    return public_view(session, agent, kids)


@router.get("/agents")
def list_agents(org_id: OrgId, session: SessionDep, paging: Paging) -> dict[str, Any]:
    rows = agents.list_agents(session, org_id=org_id)
    render = lambda a: public_view(session, a).model_dump(mode="json")  # noqa: E731
    return paging.page(rows, key=lambda a: a.id, render=render)


@router.get("/agents/{agent_id}", response_model=AgentPublic)
def get_agent(org_id: OrgId, agent_id: str, session: SessionDep) -> AgentPublic:
    return public_view(session, agents.get(session, org_id=org_id, agent_id=agent_id))


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
    return public_view(session, agent)


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
    return public_view(session, agent, kids)


@router.delete("/agents/{agent_id}", status_code=204)
def delete_agent(
    org_id: OrgId, agent_id: str, session: SessionDep, admin: CurrentAdmin
) -> Response:
    agents.remove(session, org_id=org_id, agent_id=agent_id, actor=admin.id)
    return Response(status_code=204)

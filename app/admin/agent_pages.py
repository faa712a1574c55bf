"""Admin pages for agents: register (a pasted JWKS or a JWKS URL), suspend, settings and budgets,
key rotation.
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import (
    FormState,
    TextField,
    attempt,
    body_of,
    json_object,
    optional,
    whole_number,
    words,
)
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.identity import agents
from app.identity.agent_views import public_view
from app.identity.schemas import AgentJwks, AgentPatch, AgentPublic, AgentRegister

router = APIRouter(route_class=DashboardRoute)
BUDGET_FIELDS = ("requests_per_minute", "jit_requests_per_hour", "max_pending_jit")
JWKS_ALIASES = {"keys[": "jwks", "kid": "jwks", "key ": "jwks", "keys ": "jwks"}


def _agents_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    q: str = "",
    after: str = "",
    form: FormState | None = None,
    status: int = 200,
) -> HTMLResponse:
    shown, next_after = views.agents_page(session, user.org_id, q=q, after=after)
    form = form or FormState(values={"jwks_source": "paste"})
    context = {
        "page": "agents",
        "agents": shown,
        "q": q,
        "after": after,
        "next_after": next_after,
        "form": form,
    }
    return views.render(request, "admin_agents.html", context, user=user, status=status)


@router.get("/agents")
def agents_page(
    request: Request, session: SessionDep, user: CurrentAdminUser, q: str = "", after: str = ""
) -> HTMLResponse:
    return _agents_page(request, session, user, q=q[:200], after=after[:63])


def _registration(values: dict[str, str]) -> AgentRegister:
    by_url = values["jwks_source"] == "url"
    data = {
        "name": values["name"].strip(),
        "capabilities": words(values["capabilities"]),
        "jwks": None if by_url else json_object("jwks", values["jwks"]),
        "jwks_uri": optional(values["jwks_uri"]) if by_url else None,
        "owner": optional(values["owner"]),
        "description": optional(values["description"]),
    }
    return body_of(AgentRegister, data)


@router.post("/agents")
def register_agent(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    name: TextField = "",
    capabilities: TextField = "",
    jwks_source: TextField = "paste",
    jwks: TextField = "",
    jwks_uri: TextField = "",
    owner: TextField = "",
    description: TextField = "",
) -> Response:
    form = FormState(
        values={
            "name": name,
            "capabilities": capabilities,
            "jwks_source": jwks_source,
            "jwks": jwks,
            "jwks_uri": jwks_uri,
            "owner": owner,
            "description": description,
        }
    )

    def register() -> str:
        body = _registration(form.values)
        agent, _kids = agents.register(
            session, org_id=user.org_id, actor=user.token.id, **body.model_dump()
        )
        return agent.id

    agent_id = attempt(session, form, register, JWKS_ALIASES)
    if agent_id is None:
        return _agents_page(request, session, user, form=form, status=422)
    return see_other(f"/admin/agents/{agent_id}?done=registered")


def _agent_page(
    request: Request,
    session: Session,
    user: AdminUser,
    agent_id: str,
    *,
    form: FormState | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    agent = public_view(session, agents.get(session, org_id=user.org_id, agent_id=agent_id[:64]))
    form = form or FormState()
    form.values = {**_agent_values(agent), **form.values}  # what the admin typed wins
    context = {
        "page": "agents",
        "agent": agent,
        "decisions": views.recent_decisions(session, user.org_id, agent.agent_id),
        "form": form,
        "notice": notice,
    }
    return views.render(request, "admin_agent.html", context, user=user, status=status)


def _agent_values(agent: AgentPublic) -> dict[str, str]:
    overrides = {k: str(v) for k, v in agent.budget_overrides.items()}
    budget = {k: overrides.get(k, "") for k in BUDGET_FIELDS}
    return {
        "capabilities": " ".join(agent.capabilities),
        "owner": agent.owner or "",
        "jwks_source": "paste",
        **budget,
    }


@router.get("/agents/{agent_id}")
def agent_page(
    request: Request, agent_id: str, session: SessionDep, user: CurrentAdminUser, done: str = ""
) -> HTMLResponse:
    notice = {"registered": "The agent is registered.", "saved": "Saved."}.get(done, "")
    return _agent_page(request, session, user, agent_id, notice=notice)


def _patch(session: Session, user: AdminUser, agent_id: str, form: FormState, data: dict) -> bool:
    def call() -> bool:
        body = body_of(AgentPatch, data)
        agents.update(
            session,
            org_id=user.org_id,
            agent_id=agent_id[:64],
            actor=user.token.id,
            changes=body.model_dump(exclude_unset=True),
        )
        return True

    return attempt(session, form, call) is not None


@router.post("/agents/{agent_id}/status")
def agent_status(
    request: Request, agent_id: str, session: SessionDep, user: PostingAdmin, status: TextField = ""
) -> Response:
    form = FormState(values={"status": status})
    if not _patch(session, user, agent_id, form, {"status": status}):
        return _agent_page(request, session, user, agent_id, form=form, status=422)
    return see_other(f"/admin/agents/{agent_id}?done=saved")


@router.post("/agents/{agent_id}/settings")
def agent_settings(
    request: Request,
    agent_id: str,
    session: SessionDep,
    user: PostingAdmin,
    capabilities: TextField = "",
    owner: TextField = "",
    requests_per_minute: TextField = "",
    jit_requests_per_hour: TextField = "",
    max_pending_jit: TextField = "",
) -> Response:
    budget_values = {
        "requests_per_minute": requests_per_minute,
        "jit_requests_per_hour": jit_requests_per_hour,
        "max_pending_jit": max_pending_jit,
    }
    form = FormState(
        values={"capabilities": capabilities, "owner": owner, **budget_values, "budget": ""}
    )
    budget = {k: whole_number(v) if v.strip() else None for k, v in budget_values.items()}
    data = {"capabilities": words(capabilities), "owner": optional(owner), "budget": budget}
    if not _patch(session, user, agent_id, form, data):
        return _agent_page(request, session, user, agent_id, form=form, status=422)
    return see_other(f"/admin/agents/{agent_id}?done=saved")


@router.post("/agents/{agent_id}/keys")
def rotate_keys(
    request: Request,
    agent_id: str,
    session: SessionDep,
    user: PostingAdmin,
    jwks_source: TextField = "paste",
    jwks: TextField = "",
    jwks_uri: TextField = "",
) -> Response:
    form = FormState(values={"jwks_source": jwks_source, "jwks": jwks, "jwks_uri": jwks_uri})

    def call() -> bool:
        by_url = jwks_source == "url"
        data = {
            "jwks": None if by_url else json_object("jwks", jwks),
            "jwks_uri": optional(jwks_uri) if by_url else None,
        }
        body = body_of(AgentJwks, data)
        agents.rotate_keys(
            session,
            org_id=user.org_id,
            agent_id=agent_id[:64],
            actor=user.token.id,
            jwks=body.jwks,
            jwks_uri=body.jwks_uri,
        )
        return True

    if attempt(session, form, call, JWKS_ALIASES) is None:
        return _agent_page(request, session, user, agent_id, form=form, status=422)
    return see_other(f"/admin/agents/{agent_id}?done=saved")

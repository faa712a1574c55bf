"""Admin pages for agents: register (a pasted JWKS or a JWKS URL), suspend, settings and budgets,
key rotation.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import (
    JWKS_ALIASES,
    FormState,
    PageForm,
    TextField,
    attempt,
    body_of,
    jwks_fields,
    optional,
    whole_number,
    words,
)
from app.admin.pages import FormPage
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.identity import agents
from app.identity.agent_views import public_view
from app.identity.schemas import AgentJwks, AgentPatch, AgentPublic, AgentRegister

router = APIRouter(route_class=DashboardRoute)
BUDGET_FIELDS = ("requests_per_minute", "jit_requests_per_hour", "max_pending_jit")


class AgentForm(PageForm):
    name: str = ""
    capabilities: str = ""
    jwks_source: str = "paste"
    jwks: str = ""
    jwks_uri: str = ""
    owner: str = ""
    description: str = ""


def _agents(session: Session, user: AdminUser, q: str = "", after: str = "") -> dict[str, Any]:
    shown, next_after = views.agents_page(session, user.org_id, q=q, after=after)
    return {"agents": shown, "q": q, "after": after, "next_after": next_after}


AGENTS = FormPage("agents", _agents, blank={"jwks_source": "paste"})


@router.get("/agents")
def agents_page(
    request: Request, session: SessionDep, user: CurrentAdminUser, q: str = "", after: str = ""
) -> HTMLResponse:
    listing = _agents(session, user, q=q[:200], after=after[:63])
    return AGENTS.render(request, session, user, listing=listing)


@router.post("/agents")
def register_agent(
    request: Request, session: SessionDep, user: PostingAdmin, typed: Annotated[AgentForm, Form()]
) -> Response:
    def register() -> str:
        data = {
            "name": typed.name.strip(),
            "capabilities": words(typed.capabilities),
            **jwks_fields(typed.jwks_source, typed.jwks, typed.jwks_uri),
            "owner": optional(typed.owner),
            "description": optional(typed.description),
        }
        body = body_of(AgentRegister, data)
        agent, _kids = agents.register(
            session, org_id=user.org_id, actor=user.token.id, **body.model_dump()
        )
        return agent.id

    form = typed.state()
    done = lambda agent_id: f"/admin/agents/{agent_id}?done=registered"  # noqa: E731
    return AGENTS.submit(request, session, user, form, register, aliases=JWKS_ALIASES, done=done)


@dataclass(frozen=True)
class AgentPage:
    """One agent's page (/admin/agents/{id}): shown, or a change posted to it saved (or the
    page again with what was wrong, 422)."""

    request: Request
    session: Session
    user: AdminUser
    agent_id: str

    def render(
        self, *, form: FormState | None = None, notice: str = "", status: int = 200
    ) -> HTMLResponse:
        session, user = self.session, self.user
        agent = public_view(
            session, agents.get(session, org_id=user.org_id, agent_id=self.agent_id[:64])
        )
        form = form or FormState()
        form.values = {**_agent_values(agent), **form.values}  # what the admin typed wins
        context = {
            "page": "agents",
            "agent": agent,
            "decisions": views.recent_decisions(session, user.org_id, agent.agent_id),
            "form": form,
            "notice": notice,
        }
        return views.render(self.request, "admin_agent.html", context, user=user, status=status)

    def save(
        self, form: FormState, call: Callable[[], Any], aliases: dict[str, str] | None = None
    ) -> Response:
        if attempt(self.session, form, call, aliases) is None:
            return self.render(form=form, status=422)
        return see_other(f"/admin/agents/{self.agent_id}?done=saved")

    def patch(self, data: dict) -> Callable[[], bool]:
        """The API's PATCH /agents/{id}, for save()."""

        def call() -> bool:
            body = body_of(AgentPatch, data)
            agents.update(
                self.session,
                org_id=self.user.org_id,
                agent_id=self.agent_id[:64],
                actor=self.user.token.id,
                changes=body.model_dump(exclude_unset=True),
            )
            return True

        return call


def _posted_to(
    request: Request, agent_id: str, session: SessionDep, user: PostingAdmin
) -> AgentPage:
    """The agent's page as a form posted to it sees it (the admin's CSRF token checked)."""
    return AgentPage(request, session, user, agent_id)


PostedToAgent = Annotated[AgentPage, Depends(_posted_to)]


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
    return AgentPage(request, session, user, agent_id).render(notice=notice)


@router.post("/agents/{agent_id}/status")
def agent_status(page: PostedToAgent, status: TextField = "") -> Response:
    form = FormState(values={"status": status})
    return page.save(form, page.patch({"status": status}))


class SettingsForm(PageForm):
    capabilities: str = ""
    owner: str = ""
    requests_per_minute: str = ""
    jit_requests_per_hour: str = ""
    max_pending_jit: str = ""


@router.post("/agents/{agent_id}/settings")
def agent_settings(page: PostedToAgent, typed: Annotated[SettingsForm, Form()]) -> Response:
    form = typed.state()
    form.values["budget"] = ""  # where an error about the budget as a whole is shown
    typed_budget = typed.model_dump(include=set(BUDGET_FIELDS))
    budget = {k: whole_number(v) if v.strip() else None for k, v in typed_budget.items()}
    data = {
        "capabilities": words(typed.capabilities),
        "owner": optional(typed.owner),
        "budget": budget,
    }
    return page.save(form, page.patch(data))


class KeysForm(PageForm):
    jwks_source: str = "paste"
    jwks: str = ""
    jwks_uri: str = ""


@router.post("/agents/{agent_id}/keys")
def rotate_keys(page: PostedToAgent, typed: Annotated[KeysForm, Form()]) -> Response:
    def call() -> bool:
        body = body_of(AgentJwks, jwks_fields(typed.jwks_source, typed.jwks, typed.jwks_uri))
        agents.rotate_keys(
            page.session,
            org_id=page.user.org_id,
            agent_id=page.agent_id[:64],
            actor=page.user.token.id,
            jwks=body.jwks,
            jwks_uri=body.jwks_uri,
        )
        return True

    return page.save(typed.state(), call, JWKS_ALIASES)

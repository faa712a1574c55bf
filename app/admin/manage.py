"""Admin pages that change the org: agents, approvers, policies and the catalog.

Each form is read into the API's own body (the domain's schemas.py) and handed to the same service, or
for a change whose aftermath lives in the API route (cache invalidation after commit), to the
route function itself: a rule is never written twice. A refusal re-renders the form with what
the admin typed and the API's error text next to the field at fault.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import (
    FormState,
    attempt,
    body_of,
    json_object,
    optional,
    whole_number,
    words,
)
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.approvers import lifecycle
from app.approvers import service as approver_service
from app.approvers.schemas import ApproverIn
from app.authz import catalog as permissions
from app.authz import catalog_admin, policies
from app.authz.schemas import PermissionIn, PolicyIn
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.identity import agents
from app.identity.agent_views import public_view
from app.identity.schemas import AgentJwks, AgentPatch, AgentPublic, AgentRegister
from notifiers import registry as notifier_registry

router = APIRouter(route_class=DashboardRoute)
TextField = Annotated[str, Form()]
ListField = Annotated[list[str] | None, Form()]
BUDGET_FIELDS = ("requests_per_minute", "jit_requests_per_hour", "max_pending_jit")
JWKS_ALIASES = {"keys[": "jwks", "kid": "jwks", "key ": "jwks", "keys ": "jwks"}


# --- agents ---------------------------------------------------------------------------------


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


# --- approvers ------------------------------------------------------------------------------


def _approvers_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    issued: approver_service.CreatedApprover | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "page": "approvers",
        "approvers": approver_service.list_approvers(session, org_id=user.org_id),
        "form": form or FormState(),
        "issued": issued,
    }
    return views.render(request, "admin_approvers.html", context, user=user, status=status)


@router.get("/approvers")
def approvers_page(request: Request, session: SessionDep, user: CurrentAdminUser) -> HTMLResponse:
    return _approvers_page(request, session, user)


@router.post("/approvers")
def add_approver(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    email: TextField = "",
    name: TextField = "",
    slack_user_id: TextField = "",
    groups: TextField = "",
) -> HTMLResponse:
    form = FormState(
        values={"email": email, "name": name, "slack_user_id": slack_user_id, "groups": groups}
    )

    def call() -> approver_service.CreatedApprover:
        body = body_of(
            ApproverIn,
            {
                "email": email.strip(),
                "name": optional(name),
                "slack_user_id": optional(slack_user_id),
                "groups": words(groups),
            },
        )
        return approver_service.create(
            session, org_id=user.org_id, actor=user.token.id, **body.model_dump()
        )

    issued = attempt(session, form, call)
    if issued is None:
        return _approvers_page(request, session, user, form=form, status=422)
    return _approvers_page(request, session, user, issued=issued, status=201)


@router.post("/approvers/{approver_id}/status")
def approver_status(
    approver_id: str, session: SessionDep, user: PostingAdmin, status: TextField = ""
) -> Response:
    lifecycle.update(
        session,
        org_id=user.org_id,
        approver_id=approver_id[:64],
        changes={"status": status},
        actor=user.token.id,
    )
    return see_other("/admin/approvers")


@router.post("/approvers/{approver_id}/rotate")
def rotate_approver(
    request: Request, approver_id: str, session: SessionDep, user: PostingAdmin
) -> HTMLResponse:
    issued = lifecycle.rotate_token(
        session, org_id=user.org_id, approver_id=approver_id[:64], actor=user.token.id
    )
    return _approvers_page(request, session, user, issued=issued)


# --- policies -------------------------------------------------------------------------------

POLICY_FIELDS = (
    "permission",
    "mode",
    "groups",
    "approvals_required",
    "max_token_ttl",
    "pending_timeout",
    "slack_channel",
    "webhook_url",
    "delegation",
)


def _policies_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    editing: str = "",
    status: int = 200,
    extra: dict | None = None,
) -> HTMLResponse:
    context = {
        "explain_form": FormState(),
        **(extra or {}),
        "page": "policies",
        "policies": policies.list_policies(session, org_id=user.org_id),
        "approvers": approver_service.list_approvers(session, org_id=user.org_id),
        "channels": notifier_registry.channels(),
        "modes": policies.MODES,
        "delegation_modes": policies.DELEGATION_MODES,
        "form": form
        or FormState(
            values={
                "mode": "jit",
                "approvals_required": "1",
                "max_token_ttl": "10m",
                "pending_timeout": "15m",
            }
        ),
        "editing": editing,
    }
    return views.render(request, "admin_policies.html", context, user=user, status=status)


@router.get("/policies")
def policies_page(
    request: Request, session: SessionDep, user: CurrentAdminUser, edit: str = "", explain: str = ""
) -> HTMLResponse:
    explain_form, explained = views.explanation(session, user.org_id, explain[:200])
    extra = {"explain_form": explain_form, "explained": explained}
    form = None
    if edit:
        p = policies.get(session, org_id=user.org_id, policy_id=edit[:64])
        form = FormState(
            values={
                **{k: str(getattr(p, k) or "") for k in POLICY_FIELDS},
                "groups": " ".join(p.groups),
                "approvers": p.approvers,
                "channels": p.channels,
                "allow_self_approval": p.allow_self_approval,
                "auto_approve": p.auto_approve,
            }
        )
    return _policies_page(request, session, user, form=form, editing=edit[:64], extra=extra)


def _policy_body(values: dict) -> PolicyIn:
    ttl, timeout, required = (
        values["max_token_ttl"].strip(),
        values["pending_timeout"].strip(),
        values["approvals_required"].strip(),
    )
    return body_of(
        PolicyIn,
        {
            "permission": values["permission"].strip(),
            "mode": values["mode"],
            "approvers": values["approvers"],
            "groups": words(values["groups"]),
            "approvals_required": whole_number(required),
            "max_token_ttl": whole_number(ttl) if ttl else 600,
            "pending_timeout": whole_number(timeout) if timeout else 900,
            "channels": values["channels"] or None,
            "slack_channel": optional(values["slack_channel"]),
            "webhook_url": optional(values["webhook_url"]),
            "allow_self_approval": values["allow_self_approval"],
            "auto_approve": values["auto_approve"],
            "delegation": values.get("delegation") or "allowed",
        },
    )


@router.post("/policies")
def save_policy(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    policy_id: TextField = "",
    permission: TextField = "",
    mode: TextField = "",
    approvers: ListField = None,
    groups: TextField = "",
    approvals_required: TextField = "1",
    max_token_ttl: TextField = "",
    pending_timeout: TextField = "",
    channels: ListField = None,
    slack_channel: TextField = "",
    webhook_url: TextField = "",
    allow_self_approval: TextField = "",
    auto_approve: TextField = "",
    delegation: TextField = "allowed",
) -> Response:
    form = FormState(
        values={
            "permission": permission,
            "mode": mode,
            "approvers": approvers or [],
            "groups": groups,
            "approvals_required": approvals_required,
            "max_token_ttl": max_token_ttl,
            "pending_timeout": pending_timeout,
            "channels": channels or [],
            "slack_channel": slack_channel,
            "webhook_url": webhook_url,
            "allow_self_approval": bool(allow_self_approval),
            "auto_approve": bool(auto_approve),
            "delegation": delegation,
        }
    )

    def call() -> bool:
        data = _policy_body(form.values).model_dump(exclude_none=True)
        if policy_id:
            policies.replace(
                session,
                org_id=user.org_id,
                policy_id=policy_id[:64],
                body=data,
                actor=user.token.id,
            )
        else:
            policies.create(session, org_id=user.org_id, body=data, actor=user.token.id)
        return True

    if attempt(session, form, call) is None:
        return _policies_page(request, session, user, form=form, editing=policy_id[:64], status=422)
    return see_other("/admin/policies")


@router.post("/policies/{policy_id}/delete")
def delete_policy(policy_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    policies.delete(session, org_id=user.org_id, policy_id=policy_id[:64], actor=user.token.id)
    return see_other("/admin/policies")


# --- catalog --------------------------------------------------------------------------------


def _catalog_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    status: int = 200,
    extra: dict | None = None,
) -> HTMLResponse:
    context = {
        "ask_form": FormState(),
        **(extra or {}),
        "page": "catalog",
        "catalog": permissions.catalog(session, org_id=user.org_id),
        "form": form or FormState(),
    }
    return views.render(request, "admin_catalog.html", context, user=user, status=status)


@router.get("/catalog")
def catalog_page(request: Request, session: SessionDep, user: CurrentAdminUser) -> HTMLResponse:
    return _catalog_page(request, session, user)


@router.post("/catalog")
def save_permission(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    permission: TextField = "",
    description: TextField = "",
    synonyms: TextField = "",
) -> Response:
    form = FormState(
        values={"permission": permission, "description": description, "synonyms": synonyms}
    )
    phrases = [s.strip() for s in synonyms.splitlines() if s.strip()]

    def call() -> bool:
        body = body_of(
            PermissionIn,
            {
                "permission": permission.strip(),
                "description": optional(description),
                "synonyms": phrases,
            },
        )
        catalog_admin.define(
            session,
            org_id=user.org_id,
            actor=user.token.id,
            permission=body.permission,
            description=body.description,
            synonyms=body.synonyms,
        )
        return True

    if attempt(session, form, call) is None:
        return _catalog_page(request, session, user, form=form, status=422)
    return see_other("/admin/catalog")

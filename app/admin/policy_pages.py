"""Admin pages for policies: the list, the "which policy applies?" explainer, create, edit, delete."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import (
    FormState,
    PageForm,
    body_of,
    optional,
    whole_number,
    words,
)
from app.admin.pages import FormPage
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.approvers import service as approver_service
from app.authz import policies
from app.authz.schemas import PolicyIn
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from notifiers import registry as notifier_registry

router = APIRouter(route_class=DashboardRoute)


POLICY_FIELDS = (
    "permission",
    "mode",
    "groups",
    "approvals_required",
    "max_token_ttl",
    "pending_timeout",
    "delegation",
)


async def channel_settings_form(request: Request) -> dict[str, str]:
    """The channels' own settings as typed, one text field each (the registry names them)."""
    form = await request.form()
    return {name: str(form.get(name) or "") for name in notifier_registry.form_fields()}


ChannelValues = Annotated[dict[str, str], Depends(channel_settings_form)]


def _policies(session: Session, user: AdminUser) -> dict[str, Any]:
    return {
        "explain_form": FormState(),
        "policies": policies.list_policies(session, org_id=user.org_id),
        "approvers": approver_service.list_approvers(session, org_id=user.org_id),
        "channels": notifier_registry.channels(),
        "channel_fields": notifier_registry.form_fields(),
        "modes": policies.MODES,
        "delegation_modes": policies.DELEGATION_MODES,
        "editing": "",
    }


BLANK = {"mode": "jit", "approvals_required": "1", "max_token_ttl": "10m", "pending_timeout": "15m"}
POLICIES = FormPage("policies", _policies, blank=BLANK)


@router.get("/policies")
def policies_page(
    request: Request, session: SessionDep, user: CurrentAdminUser, edit: str = "", explain: str = ""
) -> HTMLResponse:
    explain_form, explained = views.explanation(session, user.org_id, explain[:200])
    form = None
    if edit:
        p = policies.get(session, org_id=user.org_id, policy_id=edit[:64])
        form = FormState(
            values={
                **{k: str(getattr(p, k) or "") for k in POLICY_FIELDS},
                **{
                    k: str(v or "")
                    for k, v in notifier_registry.shown_settings(p.channel_settings).items()
                },
                "groups": " ".join(p.groups),
                "approvers": p.approvers,
                "channels": p.channels,
                "allow_self_approval": p.allow_self_approval,
                "auto_approve": p.auto_approve,
            }
        )
    return POLICIES.render(
        request,
        session,
        user,
        form=form,
        editing=edit[:64],
        explain_form=explain_form,
        explained=explained,
    )


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
            **{name: optional(values[name]) for name in notifier_registry.form_fields()},
            "allow_self_approval": values["allow_self_approval"],
            "auto_approve": values["auto_approve"],
            "delegation": values.get("delegation") or "allowed",
        },
    )


class PolicyForm(PageForm):
    policy_id: str = ""  # the policy edited (none: a new one)
    permission: str = ""
    mode: str = ""
    approvers: list[str] = []  # checkboxes
    groups: str = ""
    approvals_required: str = "1"
    max_token_ttl: str = ""
    pending_timeout: str = ""
    channels: list[str] = []  # checkboxes
    allow_self_approval: str = ""
    auto_approve: str = ""
    delegation: str = "allowed"

    def state_with(self, channel_values: dict[str, str]) -> FormState:
        """What the form shows again: the channels' own settings after the channels, and the two
        checkboxes as ticked or not."""
        shown = self.model_dump(exclude={"policy_id", "allow_self_approval", "auto_approve"})
        delegation = shown.pop("delegation")
        ticked = {
            "allow_self_approval": bool(self.allow_self_approval),
            "auto_approve": bool(self.auto_approve),
        }
        return FormState(values={**shown, **channel_values, **ticked, "delegation": delegation})


@router.post("/policies")
def save_policy(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    channel_values: ChannelValues,
    typed: Annotated[PolicyForm, Form()],
) -> Response:
    form = typed.state_with(channel_values)
    policy_id = typed.policy_id

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

    return POLICIES.submit(request, session, user, form, call, editing=policy_id[:64])


@router.post("/policies/{policy_id}/delete")
def delete_policy(policy_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    policies.delete(session, org_id=user.org_id, policy_id=policy_id[:64], actor=user.token.id)
    return see_other(POLICIES.path)

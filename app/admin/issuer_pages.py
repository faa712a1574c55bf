"""Admin pages for outside identities: trusted issuers and workload federation rules.

Each form is read into the API's own body (app/identity/schemas.py) and handed to
the same service as POST /trusted-issuers and POST /agents/{id}/federation (app/identity/
issuers.py); a refusal re-renders the page with the API's error text next to the field at
fault and what the admin typed.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from app.admin import views
from app.admin.agent_pages import JWKS_ALIASES
from app.admin.forms import FormState, attempt, body_of, json_object, optional, words
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.identity import issuers
from app.identity.schemas import IssuerIn, RuleIn
from app.models import Agent

router = APIRouter(route_class=DashboardRoute)
TextField = Annotated[str, Form()]
ISSUER_DEFAULTS = {"kind": "workload", "subject_claim": "sub", "jwks_source": "url"}
RULE_ALIASES = {"trusted issuer": "issuer_id", "workload issuer": "issuer_id"}


# --- trusted issuers ------------------------------------------------------------------------


def _issuers_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "page": "issuers",
        "issuers": issuers.list_issuers(session, org_id=user.org_id),
        "kinds": issuers.KINDS,
        "subject_claims": issuers.SUBJECT_CLAIMS,
        "form": form or FormState(values=dict(ISSUER_DEFAULTS)),
    }
    return views.render(request, "admin_issuers.html", context, user=user, status=status)


@router.get("/issuers")
def issuers_page(request: Request, session: SessionDep, user: CurrentAdminUser) -> HTMLResponse:
    return _issuers_page(request, session, user)


@router.post("/issuers")
def add_issuer(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    issuer: TextField = "",
    kind: TextField = "",
    name: TextField = "",
    audiences: TextField = "",
    subject_claim: TextField = "sub",
    jwks_source: TextField = "url",
    jwks: TextField = "",
    jwks_uri: TextField = "",
) -> Response:
    form = FormState(
        values={
            "issuer": issuer,
            "kind": kind,
            "name": name,
            "audiences": audiences,
            "subject_claim": subject_claim,
            "jwks_source": jwks_source,
            "jwks": jwks,
            "jwks_uri": jwks_uri,
        }
    )

    def call() -> bool:
        by_url = jwks_source == "url"
        data = {
            "issuer": issuer.strip(),
            "kind": kind,
            "name": optional(name),
            "audiences": words(audiences),
            "subject_claim": subject_claim,
            "jwks": None if by_url else json_object("jwks", jwks),
            "jwks_uri": optional(jwks_uri) if by_url else None,
        }
        body = body_of(IssuerIn, data)
        issuers.create_issuer(session, org_id=user.org_id, actor=user.token.id, **body.model_dump())
        return True

    if attempt(session, form, call, JWKS_ALIASES) is None:
        return _issuers_page(request, session, user, form=form, status=422)
    return see_other("/admin/issuers")


@router.post("/issuers/{issuer_id}/delete")
def delete_issuer(issuer_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    issuers.delete_issuer(
        session, org_id=user.org_id, issuer_id=issuer_id[:64], actor=user.token.id
    )
    return see_other("/admin/issuers")


# --- federation rules -----------------------------------------------------------------------


def _federation_page(
    request: Request,
    session: Session,
    user: AdminUser,
    *,
    form: FormState | None = None,
    status: int = 200,
) -> HTMLResponse:
    trusted = issuers.list_issuers(session, org_id=user.org_id)
    rules = issuers.list_org_rules(session, org_id=user.org_id)
    agent_ids = {r.agent_id for r in rules}
    stmt = select(Agent.id, Agent.name).where(col(Agent.id).in_(agent_ids))
    names = dict(session.exec(stmt).all()) if agent_ids else {}
    context = {
        "page": "federation",
        "rules": rules,
        "agent_names": names,
        "issuers_by_id": {i.id: i for i in trusted},
        "workload_issuers": [i for i in trusted if i.kind == "workload"],
        "form": form or FormState(),
    }
    return views.render(request, "admin_federation.html", context, user=user, status=status)


@router.get("/federation")
def federation_page(
    request: Request, session: SessionDep, user: CurrentAdminUser, agent: str = ""
) -> HTMLResponse:
    return _federation_page(request, session, user, form=FormState(values={"agent": agent[:64]}))


def _agent_id(session: Session, org_id: str, typed: str) -> str:
    """An agent by id, or by the name the agents page shows (an unknown name is left as typed
    for the service to refuse in its own words)."""
    if typed.startswith("agt_"):
        return typed
    stmt = select(Agent.id).where(Agent.org_id == org_id, Agent.name == typed[:63])
    return session.exec(stmt).first() or typed[:64]


@router.post("/federation")
def add_rule(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    agent: TextField = "",
    issuer_id: TextField = "",
    subject: TextField = "",
    claims: TextField = "",
) -> Response:
    form = FormState(
        values={"agent": agent, "issuer_id": issuer_id, "subject": subject, "claims": claims}
    )

    def call() -> bool:
        data = {
            "issuer_id": issuer_id,
            "subject": subject.strip(),
            "claims": json_object("claims", claims) if claims.strip() else None,
        }
        body = body_of(RuleIn, data)
        issuers.create_rule(
            session,
            org_id=user.org_id,
            agent_id=_agent_id(session, user.org_id, agent.strip()),
            actor=user.token.id,
            **body.model_dump(),
        )
        return True

    if attempt(session, form, call, RULE_ALIASES) is None:
        return _federation_page(request, session, user, form=form, status=422)
    return see_other("/admin/federation")


@router.post("/federation/{agent_id}/{rule_id}/delete")
def delete_rule(agent_id: str, rule_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    issuers.delete_rule(
        session,
        org_id=user.org_id,
        agent_id=agent_id[:64],
        rule_id=rule_id[:64],
        actor=user.token.id,
    )
    return see_other("/admin/federation")

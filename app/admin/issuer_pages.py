"""Admin pages for outside identities: trusted issuers and workload federation rules.

Each form is read into the API's own body (app/identity/schemas.py) and handed to
the same service as POST /trusted-issuers and POST /agents/{id}/federation (app/identity/
issuers.py); a refusal re-renders the page with the API's error text next to the field at
fault and what the admin typed.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.admin import views
from app.admin.forms import (
    JWKS_ALIASES,
    PageForm,
    body_of,
    json_object,
    jwks_fields,
    optional,
    words,
)
from app.admin.pages import FormPage
from app.admin.session import AdminUser, CurrentAdminUser, PostingAdmin
from app.dashboard.pages import DashboardRoute, see_other
from app.http.deps import SessionDep
from app.identity import issuers
from app.identity.schemas import IssuerIn, RuleIn
from app.models import Agent

router = APIRouter(route_class=DashboardRoute)
RULE_ALIASES = {"trusted issuer": "issuer_id", "workload issuer": "issuer_id"}


# --- trusted issuers ------------------------------------------------------------------------


class IssuerForm(PageForm):
    issuer: str = ""
    kind: str = ""
    name: str = ""
    audiences: str = ""
    subject_claim: str = "sub"
    jwks_source: str = "url"
    jwks: str = ""
    jwks_uri: str = ""


def _issuers(session: Session, user: AdminUser) -> dict[str, Any]:
    return {
        "issuers": issuers.list_issuers(session, org_id=user.org_id),
        "kinds": issuers.KINDS,
        "subject_claims": issuers.SUBJECT_CLAIMS,
    }


ISSUERS = FormPage("issuers", _issuers, blank=IssuerForm(kind="workload").model_dump())
ISSUERS.serve(router)


@router.post("/issuers")
def add_issuer(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    typed: Annotated[IssuerForm, Form()],
) -> Response:
    def call() -> bool:
        data = {
            "issuer": typed.issuer.strip(),
            "kind": typed.kind,
            "name": optional(typed.name),
            "audiences": words(typed.audiences),
            "subject_claim": typed.subject_claim,
            **jwks_fields(typed.jwks_source, typed.jwks, typed.jwks_uri),
        }
        body = body_of(IssuerIn, data)
        issuers.create_issuer(session, org_id=user.org_id, actor=user.token.id, **body.model_dump())
        return True

    return ISSUERS.submit(request, session, user, typed.state(), call, aliases=JWKS_ALIASES)


@router.post("/issuers/{issuer_id}/delete")
def delete_issuer(issuer_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    issuers.delete_issuer(
        session, org_id=user.org_id, issuer_id=issuer_id[:64], actor=user.token.id
    )
    return see_other(ISSUERS.path)


# --- federation rules -----------------------------------------------------------------------


class RuleForm(PageForm):
    agent: str = ""
    issuer_id: str = ""
    subject: str = ""
    claims: str = ""


def _federation(session: Session, user: AdminUser) -> dict[str, Any]:
    trusted = issuers.list_issuers(session, org_id=user.org_id)
    rules = issuers.list_org_rules(session, org_id=user.org_id)
    agent_ids = {r.agent_id for r in rules}
    stmt = select(Agent.id, Agent.name).where(col(Agent.id).in_(agent_ids))
    names = dict(session.exec(stmt).all()) if agent_ids else {}
    return {
        "rules": rules,
        "agent_names": names,
        "issuers_by_id": {i.id: i for i in trusted},
        "workload_issuers": [i for i in trusted if i.kind == "workload"],
    }


FEDERATION = FormPage("federation", _federation)


@router.get("/federation")
def federation_page(
    request: Request, session: SessionDep, user: CurrentAdminUser, agent: str = ""
) -> Response:
    form = RuleForm(agent=agent[:64]).state()
    return FEDERATION.render(request, session, user, form=form)


@router.post("/federation")
def add_rule(
    request: Request, session: SessionDep, user: PostingAdmin, typed: Annotated[RuleForm, Form()]
) -> Response:
    agent = typed.agent.strip()

    def call() -> bool:
        data = {
            "issuer_id": typed.issuer_id,
            "subject": typed.subject.strip(),
            "claims": json_object("claims", typed.claims) if typed.claims.strip() else None,
        }
        body = body_of(RuleIn, data)
        issuers.create_rule(
            session,
            org_id=user.org_id,
            # an unknown name is left as typed, for the service to refuse in its own words
            agent_id=views.agent_id_for(session, user.org_id, agent) or agent[:64],
            actor=user.token.id,
            **body.model_dump(),
        )
        return True

    return FEDERATION.submit(request, session, user, typed.state(), call, aliases=RULE_ALIASES)


@router.post("/federation/{agent_id}/{rule_id}/delete")
def delete_rule(agent_id: str, rule_id: str, session: SessionDep, user: PostingAdmin) -> Response:
    issuers.delete_rule(
        session,
        org_id=user.org_id,
        agent_id=agent_id[:64],
        rule_id=rule_id[:64],
        actor=user.token.id,
    )
    return see_other(FEDERATION.path)

"""The catalog page's "ask a question" box: how the Ask API reads a question for an agent.

It calls the service the API decides with (app/authz/ask_preview.py: a dry run, audited as the
admin's own action), so what the page says is what POST /agents/ask would answer.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, select

from app.admin import catalog_pages
from app.admin.forms import FormState, attempt, body_of
from app.admin.session import PostingAdmin
from app.authz import ask_preview
from app.authz.schemas import AskIn
from app.core.errors import NotFound
from app.dashboard.pages import DashboardRoute
from app.http.deps import SessionDep
from app.models import Agent

router = APIRouter(route_class=DashboardRoute)
TextField = Annotated[str, Form()]


def _agent_id(session: Session, org_id: str, typed: str) -> str:
    """An agent named by id or by name, so an admin can type what the agents page shows."""
    if typed.startswith("agt_"):
        return typed
    stmt = select(Agent.id).where(Agent.org_id == org_id, Agent.name == typed[:63])
    found = session.exec(stmt).first()
    if found is None:
        raise NotFound(f"no agent {typed[:63]!r} in this organization")
    return found


@router.post("/catalog/ask")
def ask_box(
    request: Request,
    session: SessionDep,
    user: PostingAdmin,
    agent: TextField = "",
    question: TextField = "",
) -> HTMLResponse:
    form = FormState(values={"agent": agent, "question": question})

    def call() -> dict[str, Any]:
        body = body_of(AskIn, {"question": question.strip()})  # the API's own rules
        agent_id = _agent_id(session, user.org_id, agent.strip())
        return ask_preview.preview(
            session,
            org_id=user.org_id,
            agent_id=agent_id,
            question=body.question,
            actor=user.token.id,
        )

    answer = attempt(session, form, call)
    extra = {"ask_form": form, "ask_answer": answer}
    return catalog_pages.render_catalog(
        request, session, user, extra=extra, status=200 if answer is not None else 422
    )

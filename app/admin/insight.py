"""The catalog page's "ask a question" box: how the Ask API reads a question for an agent.

It calls the service the API decides with (app/authz/ask_preview.py: a dry run, audited as the
admin's own action), so what the page says is what POST /agents/ask would answer.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from app.admin import catalog_pages, views
from app.admin.forms import PageForm, attempt, body_of
from app.admin.session import PostingAdmin
from app.authz import ask_preview
from app.authz.schemas import AskIn
from app.core.errors import NotFound
from app.dashboard.pages import DashboardRoute
from app.http.deps import SessionDep

router = APIRouter(route_class=DashboardRoute)


class AskForm(PageForm):
    agent: str = ""
    question: str = ""


@router.post("/catalog/ask")
def ask_box(
    request: Request, session: SessionDep, user: PostingAdmin, typed: Annotated[AskForm, Form()]
) -> HTMLResponse:
    form = typed.state()

    def call() -> dict[str, Any]:
        body = body_of(AskIn, {"question": typed.question.strip()})  # the API's own rules
        agent = typed.agent.strip()
        agent_id = views.agent_id_for(session, user.org_id, agent)
        if agent_id is None:
            raise NotFound(f"no agent {agent[:63]!r} in this organization")
        return ask_preview.preview(
            session,
            org_id=user.org_id,
            agent_id=agent_id,
            question=body.question,
            actor=user.token.id,
        )

    answer = attempt(session, form, call)
    status = 200 if answer is not None else 422
    return catalog_pages.CATALOG.render(
        request, session, user, ask_form=form, ask_answer=answer, status=status
    )

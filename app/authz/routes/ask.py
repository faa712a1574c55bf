"""POST /agents/ask: a plain-words question, interpreted against the catalog, decided like a check."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from app.audit import service as audit
from app.authz import ask
from app.authz import check as authz
from app.authz.catalog_cache import catalog_for, remembering
from app.authz.interpreter import get_interpreter
from app.authz.schemas import AskIn
from app.core import metrics
from app.core.ids import random_hex
from app.http.deps import AgentCaller, agent_request
from app.http.lean_route import add_lean_post
from app.settings import get_settings

router = APIRouter(tags=["ask"])


# A LeanRoute like /authz/check (app/http/lean_route.py), async and session-free: the catalog
# and the rules come from caches.
async def ask_question(request: Request) -> JSONResponse:
    """Ask in plain words whether the calling agent may do something; fails closed."""
    org_id, caller, body = await agent_request(request, AskIn)
    async with audit.room(org_id):  # an audit trail that has fallen behind slows questions
        return _answer(org_id, caller, body)


def _answer(org_id: str, caller: AgentCaller, body: AskIn) -> JSONResponse:
    def decide(permission: str) -> ask.PermissionDecision:
        d = authz.decide(
            org_id=org_id,
            subject=caller.facts,
            permission=permission,
            token_scope=caller.scope,
            on_behalf_of=caller.on_behalf_of,
        )
        return ask.PermissionDecision(d.allowed, d.reason, d.jit_required, d.policy_id, d.mode)

    catalog = catalog_for(org_id)
    result = ask.answer(
        question=body.question,
        catalog=catalog.entries,
        decide=decide,
        interpreter=remembering(catalog, get_interpreter(get_settings())),
        held=caller.facts.capabilities,
    )
    stated = result["on_behalf_of"]
    if caller.on_behalf_of is not None:
        # The token says whom the agent acts for; what the question says is only recorded.
        result["on_behalf_of"] = caller.on_behalf_of
    decision_id = "dec_" + random_hex(10)
    metrics.decision("authz.ask", result["allowed"], False)
    audit.record_later(
        audit.EventIn(
            org_id=org_id,
            actor=caller.agent_id,
            action="authz.ask",
            target="ask",
            outcome="allowed" if result["allowed"] else "denied",
            reason=result["reason"],
            details={
                "decision_id": decision_id,
                "question": body.question[:2000],
                "permissions": [
                    {
                        "permission": p["permission"],
                        "phrase": p.get("phrase"),
                        "allowed": p["allowed"],
                    }
                    for p in result["permissions"]
                ],
                "unresolved": result["unresolved"],
                "on_behalf_of": result["on_behalf_of"],
                "interpreter": result.get("interpreter"),
                **({"stated_on_behalf_of": stated} if stated != result["on_behalf_of"] else {}),
                **caller.delegation_details(),
            },
        )
    )
    return JSONResponse({**result, "decision_id": decision_id})


add_lean_post(router, "/agents/ask", ask_question, summary="Ask", schema=AskIn.model_json_schema())

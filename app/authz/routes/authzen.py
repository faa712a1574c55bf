"""AuthZEN Authorization API 1.0 routes: evaluation, evaluations and the PDP metadata."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field

from app.audit import service as audit
from app.authz import authzen
from app.core.secrets import ADMIN_TOKEN_PREFIX
from app.http.body import Body
from app.http.deps import BearerToken, OrgId, find_admin, find_agent, require_org

router = APIRouter(tags=["authzen"])
PREFIX = "/orgs/{org_id}/access/v1"


class EvaluationIn(Body):
    # AuthZEN entities carry `properties` and may carry more; only the 4-tuple is read.
    model_config = ConfigDict(extra="ignore")
    subject: dict[str, Any] | None = None
    action: dict[str, Any] | None = None
    resource: dict[str, Any] | None = None
    context: dict[str, Any] | None = None

    def four_tuple(self) -> dict[str, Any]:
        return {k: v for k in authzen.TUPLE_KEYS if (v := getattr(self, k)) is not None}


class EvaluationsIn(EvaluationIn):
    evaluations: list[EvaluationIn] = Field(default_factory=list, max_length=100)
    options: dict[str, Any] | None = None


def current_asker(org_id: OrgId, token: BearerToken) -> authzen.Asker:
    """An admin token asks about any agent; an agent asks about itself (others with
    authz.check_others), exactly as at /authz/check."""
    if token.startswith(ADMIN_TOKEN_PREFIX):
        return authzen.Asker(actor=find_admin(org_id, token).id)
    caller = find_agent(org_id, token)
    return authzen.Asker(
        actor=caller.agent_id,
        agent=caller.facts,
        scope=caller.scope,
        on_behalf_of=caller.on_behalf_of,
        delegation_details=caller.delegation_details(),
    )


CurrentAsker = Annotated[authzen.Asker, Depends(current_asker)]


# Each evaluation is audited as a check is: like /authz/check, these wait (async, on the loop)
# for room in the audit queue, for every evaluation of the request at once, and hold it while
# they decide in the thread pool (their events are submitted there).
@router.post(f"{PREFIX}/evaluation")
async def evaluation(org_id: OrgId, body: EvaluationIn, asker: CurrentAsker) -> dict[str, Any]:
    async with audit.room(org_id):
        return await run_in_threadpool(authzen.evaluate, org_id, asker, body.four_tuple())


@router.post(f"{PREFIX}/evaluations")
async def evaluations(org_id: OrgId, body: EvaluationsIn, asker: CurrentAsker) -> dict[str, Any]:
    semantic = (body.options or {}).get("evaluations_semantic", "execute_all")
    items = [e.four_tuple() for e in body.evaluations]
    async with audit.room(org_id, events=max(len(items), 1)):
        return await run_in_threadpool(
            authzen.evaluate_many, org_id, asker, body.four_tuple(), items, str(semantic)
        )


# §9.2 inserts the well-known path before the PDP identifier's path; the path-appended form is
# served too, as for the RFC 8414 document.
@router.get("/.well-known/authzen-configuration/orgs/{org_id}")
@router.get("/orgs/{org_id}/.well-known/authzen-configuration")
def configuration(org_id: OrgId) -> dict[str, str]:
    require_org(org_id)
    return authzen.configuration(org_id)

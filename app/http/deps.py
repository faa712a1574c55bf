"""Annotated dependencies: the session and who is calling (admin, agent, approver)."""

import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import Session, select

from app.approvers.service import ACTIVE as APPROVER_ACTIVE
from app.authz import check as authz
from app.core import logs
from app.core.cache import TtlCache
from app.core.db import get_session, lazy_read_session, read_session, session_scope
from app.core.errors import NotFound, RuleViolation, TokenRevoked, Unauthenticated
from app.core.secrets import ADMIN_TOKEN_PREFIX, APPROVER_TOKEN_PREFIX, hash_token
from app.http.errors import json_body
from app.identity import access_tokens, chain, rate_limits
from app.models import AdminToken, Approver, Org
from app.resources import service as resources

# scope="function": the unit of work commits before the response is sent, so a client that got
# its 201 can read what it created from any process (FastAPI otherwise commits after sending).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# The one other way, for the two kinds of handler that cannot take SessionDep: a lean route
# (app/http/lean_route.py, no dependency injection) and a long-poll, which must not hold a
# session while it waits and so opens one short unit of work per look. It commits on success
# and rolls back on an exception, as SessionDep does. A lean route that only reads (the token
# endpoint: its writes go through the row writer) takes lean_read instead, which opens nothing
# unless the handler reads: with the agent and its keys cached it reads nothing at all.
unit_of_work = session_scope
lean_read = lazy_read_session
M = TypeVar("M", bound=BaseModel)
H = TypeVar("H", AdminToken, Approver)
ORG_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
OrgId = Annotated[str, Path(min_length=1, max_length=64, pattern=ORG_ID_PATTERN)]
# The same parameter for lean routes (app/http/lean_route.py), which read it themselves.
ORG_ID_OPENAPI = {
    "name": "org_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ORG_ID_PATTERN},
}
_ORG_ID = re.compile(ORG_ID_PATTERN)


def path_org_id(request: Request) -> str:
    """The {org_id} of a lean route, with OrgId's rule and status."""
    org_id = request.path_params.get("org_id", "")
    if _ORG_ID.fullmatch(org_id) is None:
        raise RuleViolation("org_id: must be 1 to 64 letters, digits, '_' or '-'")
    return org_id


def parse_bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required", code="invalid_request")
    return token.strip()


# Declared for OpenAPI (the Authorize button at /docs); parse_bearer does the reading, so a
# missing or malformed header is our OAuth-style 401, not FastAPI's 403.
BEARER_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description=(
        "An admin token (jgadm_…), an approver token (jgapr_…) or an agent's access token, "
        "as each route says (README: who may call what)."
    ),
)


async def bearer_token(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)] = None,
) -> str:
    return parse_bearer(request)


BearerToken = Annotated[str, Depends(bearer_token)]

_orgs: TtlCache[bool] = TtlCache(lambda: 5.0)


def require_org(org_id: str) -> None:
    def exists() -> bool:
        with read_session() as session:
            return session.get(Org, org_id) is not None

    if not _orgs.get(org_id, exists):
        raise NotFound("no such organization")


# Who is calling is looked up on a read-only session of its own, never on the request's
# unit of work: with SQLite that would take the write lock in the dependency, and the handler
# would then need a second worker thread while holding it.


def _holder(table: type[H], token: str) -> H | None:
    """The admin token's or approver's row whose token hash is the token's."""
    with read_session() as session:
        stmt = select(table).where(table.token_hash == hash_token(token))
        return session.exec(stmt).first()


def find_admin(org_id: str, token: str) -> AdminToken:
    if not token.startswith(ADMIN_TOKEN_PREFIX):
        raise Unauthenticated("an admin token (jgadm_…) is required")
    row = _holder(AdminToken, token)
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("the admin token is unknown or revoked")
    if row.org_id != org_id:
        raise NotFound("no such organization")
    return row


def find_approver(org_id: str, token: str) -> Approver:
    if not token.startswith(APPROVER_TOKEN_PREFIX):
        raise Unauthenticated("an approver token (jgapr_…) is required")
    row = _holder(Approver, token)
    if row is None:
        raise Unauthenticated("the approver token is unknown")
    if row.org_id != org_id:
        raise NotFound("no such organization")
    if row.status != APPROVER_ACTIVE:
        raise Unauthenticated("the approver is disabled")
    return row


@dataclass(frozen=True)
class AgentCaller:
    facts: authz.AgentFacts
    claims: dict[str, Any]
    token: str

    @property
    def agent_id(self) -> str:
        return self.facts.agent_id

    @property
    def scope(self) -> frozenset[str]:
        return frozenset(str(self.claims.get("scope", "")).split())

    @property
    def on_behalf_of(self) -> str | None:
        """The user a delegated token acts for (RFC 8693 `sub`); None for the agent's own."""
        return chain.on_behalf_of(self.claims)

    @property
    def actor_chain(self) -> list[dict[str, Any]]:
        """The delegated token's actors, most recent first ([] for the agent's own token)."""
        return chain.actors(self.claims)

    def delegation_details(self) -> dict[str, Any]:
        """What an audit event records of the chain (nothing for the agent's own token)."""
        if self.on_behalf_of is None:
            return {}
        return {"on_behalf_of": self.on_behalf_of, "actor_chain": self.actor_chain}


def find_agent(
    org_id: str, token: str, *, redeems_jit: bool = False, resource_bound: bool = False
) -> AgentCaller:
    """Verify an access token offline; the agent's facts come from the decision cache.

    A JIT token is good for its one operation only: as a bearer it is refused everywhere but
    where it is redeemed (redeems_jit), so whoever it was handed to cannot act as the agent.
    The refusal comes before anything could use it up: it still redeems afterwards.
    resource_bound: a token for one of the org's registered resources is accepted too (a
    protected MCP server opening and reading JIT requests with its caller's token).
    """
    require_org(org_id)
    audience = resources.bound_audience(org_id, token) if resource_bound else None
    # The revocation list is read with the request's count below (one Redis round trip).
    claims = access_tokens.verify(token, org_id=org_id, audience=audience, check_revoked=False)
    agent_id = chain.acting_agent_id(claims)  # a delegated token's `sub` is its user
    logs.bind(agent=agent_id)
    if claims.get("jit") is not None and not redeems_jit:
        raise Unauthenticated(
            "a JIT token is not a bearer credential here: it is good only for redeeming its one "
            "operation (POST /jit/tokens/consume or /authz/check)"
        )
    facts = authz.agent_facts(org_id, agent_id)
    if facts is None or facts.status == "deleted":
        raise Unauthenticated("the token's agent no longer exists")
    if not access_tokens.same_status_epoch(claims, facts.status_epoch):
        raise TokenRevoked("the token was issued before the agent was suspended")
    chain.ensure_live(org_id, claims)  # a delegation: every actor active, no parent revoked
    rate_limits.limit_token_request(
        org_id, facts.agent_id, facts.requests_per_minute, jti=claims["jti"]
    )
    return AgentCaller(facts=facts, claims=claims, token=token)


@dataclass(frozen=True)
class Principal:
    """Anyone who may read a JIT request: the requesting agent, an approver, or an admin."""

    kind: str  # agent | approver | admin
    id: str
    agent: AgentCaller | None = None
    approver: Approver | None = None


def find_principal(org_id: str, token: str, *, resource_bound: bool = False) -> Principal:
    if token.startswith(ADMIN_TOKEN_PREFIX):
        return Principal(kind="admin", id=find_admin(org_id, token).id)
    if token.startswith(APPROVER_TOKEN_PREFIX):
        approver = find_approver(org_id, token)
        return Principal(kind="approver", id=approver.id, approver=approver)
    agent = find_agent(org_id, token, resource_bound=resource_bound)
    return Principal(kind="agent", id=agent.agent_id, agent=agent)


def current_admin(org_id: OrgId, token: BearerToken) -> AdminToken:
    return find_admin(org_id, token)


def current_approver(org_id: OrgId, token: BearerToken) -> Approver:
    return find_approver(org_id, token)


async def current_agent(org_id: OrgId, token: BearerToken) -> AgentCaller:
    # Async on purpose: on the hot path (cache hits) this is pure CPU, and a hop to the thread
    # pool would cost more than the check itself.
    return find_agent(org_id, token)


def current_principal(org_id: OrgId, token: BearerToken) -> Principal:
    return find_principal(org_id, token)


async def current_agent_or_resource(org_id: OrgId, token: BearerToken) -> AgentCaller:
    return find_agent(org_id, token, resource_bound=True)


CurrentAdmin = Annotated[AdminToken, Depends(current_admin)]
# For a router whose every route needs an admin token: APIRouter(dependencies=[ADMIN_ONLY]). A
# handler that names the admin (admin: CurrentAdmin) gets the same row: one look-up a request.
ADMIN_ONLY = Depends(current_admin)
AgentOrResource = Annotated[AgentCaller, Depends(current_agent_or_resource)]
CurrentAgent = Annotated[AgentCaller, Depends(current_agent)]
CurrentApprover = Annotated[Approver, Depends(current_approver)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def agent_request(
    request: Request, model: type[M], *, redeems_jit: bool = False
) -> tuple[str, AgentCaller, M]:
    """What a lean agent route (app/http/lean_route.py) reads itself: its org, the calling agent
    and the JSON body, with the same rules and errors as the dependency-injected routes."""
    org_id = path_org_id(request)
    caller = find_agent(org_id, parse_bearer(request), redeems_jit=redeems_jit)
    return org_id, caller, await json_body(request, model)

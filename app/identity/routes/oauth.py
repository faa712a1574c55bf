"""OAuth endpoints: token (RFC 6749/7523/8707), introspection (RFC 7662), revocation (RFC 7009)."""

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.core import metrics, row_writer
from app.core.db import read_session, session_scope
from app.core.errors import InvalidClient, InvalidRequest, JitgateError, UnsupportedGrantType
from app.core.secrets import ADMIN_TOKEN_PREFIX
from app.http.deps import (
    ORG_ID_OPENAPI,
    OrgId,
    find_admin,
    find_agent,
    parse_bearer,
    path_org_id,
    require_org,
)
from app.http.errors import media_type
from app.http.lean_route import add_lean_post
from app.http.throttle import client_address
from app.identity import assertions, rate_limits, tokens

router = APIRouter(tags=["oauth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 50


async def read_form(request: Request) -> dict[str, str]:
    """OAuth parameters are form-encoded; a repeated parameter is an error (RFC 6749 §3.1)."""
    if media_type(request) != FORM:
        raise InvalidRequest(f"the body must be {FORM}")
    try:
        # parse_qsl, not request.form(): same urlencoded semantics, a fraction of the cost.
        pairs = parse_qsl(
            (await request.body()).decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise InvalidRequest("the body must be UTF-8") from None
    except ValueError:
        raise InvalidRequest(f"at most {MAX_FORM_FIELDS} parameters") from None
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in values:
            raise InvalidRequest(f"parameter {key!r} is repeated")
        values[key] = value
    return values


Form = Annotated[dict[str, str], Depends(read_form)]


def _assertion_from(form: dict[str, str]) -> tuple[str, str]:
    grant = form.get("grant_type")
    if grant == "client_credentials":
        if form.get("client_assertion_type") != tokens.CLIENT_ASSERTION_TYPE:
            raise InvalidClient("client_assertion_type must be " + tokens.CLIENT_ASSERTION_TYPE)
        if not form.get("client_assertion"):
            raise InvalidClient("client_assertion is required")
        return form["client_assertion"], grant
    if grant == tokens.JWT_BEARER_GRANT:
        if not form.get("assertion"):
            raise InvalidRequest("assertion is required for the jwt-bearer grant")
        return form["assertion"], grant
    if not grant:
        raise InvalidRequest("grant_type is required")
    raise UnsupportedGrantType(f"grant_type {grant[:80]!r} is not supported")


def _issue(org_id: str, form: dict[str, str]) -> dict[str, Any]:
    assertion, grant = _assertion_from(form)
    with read_session() as session:
        require_org(org_id)
        granted = tokens.authenticate(
            session,
            org_id=org_id,
            assertion=assertion,
            scope=form.get("scope"),
            resource=form.get("resource"),
            grant_form=grant,
        )
    budget = granted.agent.budget or {}
    rate_limits.limit_agent_requests(org_id, granted.agent.id, budget.get("requests_per_minute"))
    issued = tokens.issue(granted)
    return {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }


# Token issuance is a LeanRoute (app/api/lean_route.py): it reads its org and form itself.
async def token(request: Request) -> JSONResponse:
    """Exchange a signed client assertion (RFC 7523) for a short-lived access token."""
    try:
        rate_limits.limit_address(client_address(request))
        org_id = path_org_id(request)
        form = await read_form(request)
        assertion = form.get("client_assertion") or form.get("assertion") or ""
        if assertions.verifiable_without_io(assertion):
            # Known agent, cached inline keys: pure CPU, cheaper here than a worker thread hop.
            body = _issue(org_id, form)
        else:
            body = await run_in_threadpool(_issue, org_id, form)
    except JitgateError as refusal:
        metrics.TOKENS_REFUSED.labels(refusal.code).inc()
        raise
    return JSONResponse(body, headers=NO_STORE)


_TOKEN_FORM = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {
            "type": "string",
            "enum": ["client_credentials", tokens.JWT_BEARER_GRANT],
        },
        "client_assertion_type": {"type": "string", "enum": [tokens.CLIENT_ASSERTION_TYPE]},
        "client_assertion": {"type": "string", "description": "client_credentials form"},
        "assertion": {"type": "string", "description": "jwt-bearer grant form"},
        "scope": {"type": "string", "description": "space-separated capabilities"},
        "resource": {"type": "string", "description": "RFC 8707 audience (absolute URI)"},
    },
}
add_lean_post(
    router,
    "/oauth/token",
    token,
    summary="Token",
    parameters=[ORG_ID_OPENAPI],
    media_type=FORM,
    schema=_TOKEN_FORM,
)


def _caller(org_id: str, request: Request) -> tuple[str, str | None]:
    """Who asks: an admin (any token of the org) or an agent (its own tokens only)."""
    token = parse_bearer(request)
    if token.startswith(ADMIN_TOKEN_PREFIX):
        admin = find_admin(org_id, token)
        return admin.id, None
    agent = find_agent(org_id, token)
    return agent.agent_id, agent.agent_id


@router.post("/oauth/introspect")
async def introspect(org_id: OrgId, form: Form, request: Request) -> JSONResponse:
    def run() -> dict[str, Any]:
        row_writer.rows.flush()  # before the transaction: the record may still be queued
        with session_scope() as session:
            _, agent_id = _caller(org_id, request)
            if not form.get("token"):
                raise InvalidRequest("token is required")
            return tokens.introspect(
                session, org_id=org_id, token=form["token"], requester_agent_id=agent_id
            )

    return JSONResponse(await run_in_threadpool(run), headers=NO_STORE)


@router.post("/oauth/revoke")
async def revoke(org_id: OrgId, form: Form, request: Request) -> JSONResponse:
    def run() -> None:
        row_writer.rows.flush()
        with session_scope() as session:
            actor, agent_id = _caller(org_id, request)
            if not form.get("token"):
                raise InvalidRequest("token is required")
            tokens.revoke(
                session,
                org_id=org_id,
                token=form["token"],
                requester_agent_id=agent_id,
                actor=actor,
            )

    await run_in_threadpool(run)
    return JSONResponse({}, headers=NO_STORE)

"""OAuth endpoints: token (RFC 6749/7523/8707), introspection (RFC 7662), revocation (RFC 7009)."""

import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from app.audit import service as audit
from app.core import metrics, row_writer
from app.core.batching import WriteBacklog
from app.core.errors import InvalidRequest, JitgateError
from app.core.secrets import ADMIN_TOKEN_PREFIX
from app.http.deps import (
    OrgId,
    SessionDep,
    find_admin,
    find_agent,
    lean_read,
    parse_bearer,
    path_org_id,
    require_org,
)
from app.http.errors import media_type
from app.http.lean_route import add_lean_post
from app.http.no_store import NoStoreJSON
from app.http.throttle import client_address
from app.identity import (
    assertions,
    claim_batch,
    deferred_address,
    grants,
    rate_limits,
    replay,
    revocation,
    tokens,
)
from app.settings import get_settings

router = APIRouter(tags=["oauth"])
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


def _authenticate(
    org_id: str, form: dict[str, str], grant_type: grants.GrantType, credential: str
) -> tokens.Grant:
    with lean_read() as session:
        require_org(org_id)
        granted = grant_type.authenticate(session, org_id=org_id, form=form, credential=credential)
    # Counted now, before any wait for the org's room (unless the jti claim's script counted
    # it): a request cancelled while it waits has still been counted, and one over the
    # address's limit hears 429 at once.
    deferred_address.finish()
    return granted


async def _issue(
    org_id: str,
    form: dict[str, str],
    grant_type: grants.GrantType,
    credential: str,
    *,
    inline: bool,
) -> dict[str, Any]:
    """Authenticate, then issue in the org's share of the audit queue. `inline`: pure CPU
    (a known agent, cached inline keys), cheaper on the event loop than a worker thread hop."""
    # The token's record keeps its assertion's claim. The worker thread shares this context,
    # so the claims it makes are in this block's list (replay.claims_kept_by_token).
    with replay.claims_kept_by_token():
        async with _authenticating_room(credential):
            if inline:
                granted = _authenticate(org_id, form, grant_type, credential)
            else:
                granted = await run_in_threadpool(
                    _authenticate, org_id, form, grant_type, credential
                )
        # A request that has to wait writes its claim first: not only in memory meanwhile
        async with _issuing_room(org_id, on_wait=replay.write_claims_now):
            if inline:
                return _token_body(org_id, grant_type, granted)
            return await run_in_threadpool(_token_body, org_id, grant_type, granted)


def _authenticating_room(credential: str) -> AbstractAsyncContextManager[None]:
    """Room while the caller authenticates, given back before it waits for its org's share.

    An audit trail at its hard cap slows issuance before anything is spent (the assertion stays
    good for a retry); garbage that is not even a JWT is refused (and audited) without a wait.
    The caller is not authenticated yet, so it holds room in no org's name (audit.ANY_ORG): a
    forged assertion neither waits behind the org it names nor, with a made-up org id, shrinks
    every org's share. Held across the org's wait, this room would let one org's waiting token
    requests fill the hard cap every org waits at."""
    if assertions.jwt_shaped(credential):
        return audit.room(audit.ANY_ORG)
    return contextlib.nullcontext()


def _issuing_room(
    org_id: str, *, on_wait: Callable[[], None] | None = None
) -> AbstractAsyncContextManager[None]:
    """Room for an authenticated caller's token event in its own org's share of the audit
    queue, until the event is submitted: an org issuing tokens faster than its events are
    written waits (and at worst hears 503 with its assertion spent, as any answer after
    authentication spends it), rather than filling the queue to the cap every org waits at."""
    return audit.room(org_id, on_wait=on_wait)


def _token_body(org_id: str, grant_type: grants.GrantType, granted: tokens.Grant) -> dict[str, Any]:
    budget = granted.agent.budget or {}
    override = budget.get("requests_per_minute")
    rate_limits.limit_agent_requests(org_id, granted.agent.id, override, counted=granted.counted)
    issued = tokens.issue(granted)
    body = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    if grant_type.issued_token_type:
        body["issued_token_type"] = grant_type.issued_token_type
    return body


async def _issue_claimed_later(
    org_id: str, form: dict[str, str], credential: str
) -> dict[str, Any]:
    """The client_credentials grant of a cached agent in Redis mode: verified here, its jti
    claimed with the other requests of this turn of the loop (claim_batch), then granted (the
    claim's script counted the address; the claim is in Redis before any wait)."""
    async with _authenticating_room(credential):
        with lean_read() as session:
            require_org(org_id)
            verified = tokens.verify_client(
                session, org_id=org_id, assertion=credential, claim=False
            )
        try:
            verified = await claim_batch.claim(verified)
        except assertions.AssertionRejected as replayed:
            tokens.audit_rejected(org_id, replayed)
            raise
        scope, resource = form.get("scope"), form.get("resource")
        with lean_read() as session:
            granted = tokens.grant_for(
                session, verified, org_id=org_id, scope=scope, resource=resource
            )
        deferred_address.finish()  # as _authenticate does: counted before any wait
    async with _issuing_room(org_id):
        return _token_body(org_id, grants.GRANT_TYPES["client_credentials"], granted)


async def _issue_any(
    org_id: str, form: dict[str, str], grant_type: grants.GrantType, credential: str
) -> dict[str, Any]:
    inline = assertions.verifiable_without_io(credential)
    if inline and _claims_batched(grant_type):
        return await _issue_claimed_later(org_id, form, credential)
    return await _issue(org_id, form, grant_type, credential, inline=inline)


def _claims_batched(grant_type: grants.GrantType) -> bool:
    return grant_type.name == "client_credentials" and bool(get_settings().redis_url)


# Token issuance is a LeanRoute (app/api/lean_route.py): it reads its org and form itself.
async def token(request: Request) -> NoStoreJSON:
    """Exchange a signed client assertion (RFC 7523) for a short-lived access token."""
    try:
        deferred_address.begin(client_address(request))
        org_id = path_org_id(request)
        form = await read_form(request)
        grant_type = grants.grant_type_of(form)
        credential = grant_type.credential(form)  # form errors come before any lookup
        # Room in the audit queue is held twice: while authenticating, in no org's name, then
        # in the org's share until the token's event is submitted (_authenticating_room).
        body = await _issue_any(org_id, form, grant_type, credential)
    except (JitgateError, WriteBacklog) as refusal:
        try:
            deferred_address.finish()  # refused before its address was counted: count it now
        except JitgateError as over_limit:  # and an address over its limit hears that first
            metrics.TOKENS_REFUSED.labels(over_limit.code).inc()
            raise over_limit from refusal
        code = refusal.code if isinstance(refusal, JitgateError) else "temporarily_unavailable"
        metrics.TOKENS_REFUSED.labels(code).inc()
        raise
    finally:
        deferred_address.end()
    return NoStoreJSON(body)


add_lean_post(
    router,
    "/oauth/token",
    token,
    summary="Token",
    media_type=FORM,
    schema=grants.token_form_schema(),
    bearer=False,  # the client authenticates with its signed assertion, not a bearer token
)


def _caller(org_id: str, request: Request) -> tuple[str, str | None]:
    """Who asks: an admin (any token of the org) or an agent (its own tokens only)."""
    token = parse_bearer(request)
    if token.startswith(ADMIN_TOKEN_PREFIX):
        admin = find_admin(org_id, token)
        return admin.id, None
    agent = find_agent(org_id, token)
    return agent.agent_id, agent.agent_id


def _about_a_token(
    org_id: str, form: dict[str, str], request: Request
) -> tuple[str, str | None, str]:
    """What introspection and revocation read first: who asks (_caller) and the form's token.

    Both read the token's record, which the row writer may still hold: it is flushed once the
    caller is known (a caller without credentials must not make the service wait on a write,
    nor hear 503 while the database is busy). The session has read nothing yet at that point
    (SQLAlchemy opens its transaction on first use).
    """
    actor, agent_id = _caller(org_id, request)
    if not form.get("token"):
        raise InvalidRequest("token is required")
    row_writer.rows.flush()
    return actor, agent_id, form["token"]


@router.post("/oauth/introspect")
def introspect(org_id: OrgId, form: Form, request: Request, session: SessionDep) -> NoStoreJSON:
    _, agent_id, token = _about_a_token(org_id, form, request)
    answer = revocation.introspect(session, org_id=org_id, token=token, requester_agent_id=agent_id)
    return NoStoreJSON(answer)


@router.post("/oauth/revoke")
def revoke(org_id: OrgId, form: Form, request: Request, session: SessionDep) -> NoStoreJSON:
    actor, agent_id, token = _about_a_token(org_id, form, request)
    revocation.revoke(session, org_id=org_id, token=token, requester_agent_id=agent_id, actor=actor)
    return NoStoreJSON({})

"""Tool calls reported by a protected server (jitgate.mcp, `jitgate mcp-proxy`) for the audit trail.

The report is written with the org's admin token, which the server already holds to read its
tool map, and carries the token its caller presented: jitgate checks that this token is its own,
for this org and for exactly that resource, so an event names an agent only when that agent
really held a token for the server. The agent cannot write (or suppress) such a record itself:
its tokens are no credential here.
"""

import time
from typing import Any

from sqlmodel import Session, select

from app.audit import service as audit
from app.core.errors import InvalidGrant, JitgateError, RuleViolation, TokenExpired
from app.identity import access_tokens, chain
from app.jit import operations
from app.jit.models import JitRequest
from app.resources.models import ProtectedResource

ACTION = "mcp.tool_call"
# A tool may run for a while after its caller's token was checked; the report of its outcome
# still names that token. Older than this after expiry, it proves nothing about a recent call.
REPORT_WINDOW_SECONDS = 3600
SHOWN_TOOL_CHARS = 128  # as MCP's tool-name limit


def _resource(session: Session, *, org_id: str, uri: str) -> ProtectedResource:
    stmt = select(ProtectedResource).where(
        ProtectedResource.org_id == org_id, ProtectedResource.resource_uri == uri
    )
    row = session.exec(stmt).first()
    if row is None:
        raise InvalidGrant(
            f"{uri} is not registered as a protected resource of this organization",
            code="invalid_target",
        )
    return row


def _caller_claims(token: str, *, org_id: str, resource: str) -> dict[str, Any]:
    """The caller's access token: jitgate's, this org's, bound to this resource (not a JIT one)."""
    verify = access_tokens.verify
    try:
        try:
            claims = verify(token, org_id=org_id, audience=resource, check_revoked=False)
        except TokenExpired:
            past = time.time() - REPORT_WINDOW_SECONDS
            claims = verify(token, org_id=org_id, audience=resource, now=past, check_revoked=False)
    except JitgateError as exc:
        raise RuleViolation(f"token: not the caller's token for {resource}: {exc}") from exc
    if claims.get("jit") is not None:
        raise RuleViolation("token: a JIT token is redeemed, never presented as the caller's")
    return claims


def _hash(body: dict[str, Any]) -> str | None:
    """The call's operation hash (as a JIT request's for the same call), checked against the
    arguments when they are sent: large arguments may be reported by their hash alone. None
    only for a refused call whose arguments had no hash (not canonical JSON, or too large)."""
    if body.get("arguments") is None:
        if body.get("operation_hash") is None and body["outcome"] != "refused":
            raise RuleViolation("operation_hash: required unless the call was refused")
        return body.get("operation_hash")
    _, digest = operations.normalize({"tool": body["tool"], "arguments": body["arguments"]})
    if body.get("operation_hash") not in (None, digest):
        raise RuleViolation("operation_hash: does not match the tool and arguments sent")
    return digest


def shown_tool_name(tool: str) -> str:
    """The caller chose the name: store it printable (others escaped) and at most 128 chars."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in tool)
    return shown[:SHOWN_TOOL_CHARS]


def _check_jit_request(
    session: Session, *, org_id: str, agent_id: str, digest: str | None, body: dict
) -> None:
    request_id = body.get("jit_request_id")
    if request_id is None:
        return
    row = session.get(JitRequest, request_id)
    if (
        row is None
        or row.org_id != org_id
        or row.agent_id != agent_id
        or row.operation_hash != digest
    ):
        raise RuleViolation(
            f"jit_request_id: {request_id} is not this agent's request for this call"
        )


def record(session: Session, *, org_id: str, body: dict[str, Any], reporter: str) -> int:
    """Append the call to the org's audit trail in the request's transaction; its sequence."""
    row = _resource(session, org_id=org_id, uri=body["resource"])
    claims = _caller_claims(body["token"], org_id=org_id, resource=row.resource_uri)
    digest = _hash(body)
    # A delegated token's subject is the user: the event names the agent that used it.
    agent_id = chain.acting_agent_id(claims)
    _check_jit_request(session, org_id=org_id, agent_id=agent_id, digest=digest, body=body)
    tool = shown_tool_name(body["tool"])
    details: dict[str, Any] = {
        "resource_uri": row.resource_uri,
        "tool": tool,
        "token_jti": claims["jti"],
        "reported_by": reporter,
    }
    if tool != body["tool"]:
        details["tool_name_altered"] = True  # escaped or truncated: not the name as called
    if digest is not None:
        details["operation_hash"] = digest
    if (user := chain.on_behalf_of(claims)) is not None:
        details["on_behalf_of"] = user
    if body.get("arguments") is not None:
        details["arguments"] = body["arguments"]
    if body.get("jit_request_id"):
        details["jit_request_id"] = body["jit_request_id"]
    event = audit.EventIn(
        org_id=org_id,
        actor=agent_id,
        action=ACTION,
        target=row.id,
        outcome=body["outcome"],
        reason=body.get("reason") or "",
        details=details,
    )
    return audit.record(session, event)

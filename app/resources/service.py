"""The resource registry's rules: valid URIs and tool maps, one URI per org, RFC 8707 targets."""

import ipaddress
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt
from sqlmodel import Session, select

from app.audit import service as audit
from app.authz import policies
from app.authz.catalog import validate_permission
from app.core.db import add_if_unique, read_session
from app.core.errors import Conflict, Forbidden, InvalidGrant, NotFound, RuleViolation
from app.identity import access_tokens
from app.resources.models import ProtectedResource
from app.settings import get_settings

KINDS = ("mcp", "api")
# The MCP specification's tool names: 1 to 128 of letters, digits, '_', '-' and '.'.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
LOOPBACK_NAMES = ("localhost",)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_uri(value: str) -> str:
    """An absolute https URI without fragment or credentials; plain http only for a server on
    this machine while developing (tokens for it travel in the clear otherwise)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or not parts.scheme or not host or not value.isprintable() or " " in value:
        raise RuleViolation("resource_uri must be an absolute URI (https://host/path)")
    if parts.fragment or value.endswith("#"):
        raise RuleViolation("resource_uri must not have a fragment (RFC 8707 §2)")
    if parts.username or parts.password:
        raise RuleViolation("resource_uri must not carry credentials")
    developing = get_settings().env in ("development", "test")
    if parts.scheme == "http" and developing and _is_loopback(host):
        return value
    if parts.scheme != "https":
        raise RuleViolation("resource_uri must use https (http only on loopback in development)")
    return value


def _validated(body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name", "")
    if not isinstance(name, str) or not name.strip():
        raise RuleViolation("name is required")
    if body.get("kind", "mcp") not in KINDS:
        raise RuleViolation(f"kind must be one of {', '.join(KINDS)}")
    tools: dict[str, str] = body.get("tools") or {}
    for tool, permission in tools.items():
        if not TOOL_NAME.match(tool):
            raise RuleViolation(f"tool name {tool!r} must be 1-128 letters, digits, '_' '-' '.'")
        validate_permission(permission, field=f"tools.{tool}")
    default = body.get("default_permission")
    if default is not None:
        validate_permission(default, field="default_permission")
    return {
        "name": name.strip(),
        "resource_uri": validate_uri(body["resource_uri"]),
        "kind": body.get("kind", "mcp"),
        "tools": dict(tools),
        "default_permission": default,
    }


def public(row: ProtectedResource) -> dict[str, Any]:
    """The resource, with how each of its permissions is granted today (standing, jit or deny),
    which a protected server needs to list JIT tools as such."""
    body = row.model_dump(exclude={"id", "org_id"})
    rules = policies.rules_for_org(row.org_id)
    mapped = set(row.tools.values()) | ({row.default_permission} - {None})
    modes = {}
    for permission in sorted(p for p in mapped if p):
        rule = policies.most_specific(rules, permission)
        modes[permission] = rule.mode if rule is not None else "standing"
    return {"resource_id": row.id, **body, "modes": modes}


def _audit(session: Session, row: ProtectedResource, action: str, actor: str) -> None:
    details = {"resource_uri": row.resource_uri, "tools": len(row.tools)}
    audit.record_success(session, row.org_id, actor, action, row.id, details=details)


def _flush_unique(session: Session, row: ProtectedResource) -> None:
    if not add_if_unique(session, row):
        raise Conflict(f"{row.resource_uri} is registered already in this organization")


def create(session: Session, *, org_id: str, body: dict[str, Any], actor: str) -> ProtectedResource:
    row = ProtectedResource(org_id=org_id, **_validated(body))
    _flush_unique(session, row)
    _audit(session, row, "resource.create", actor)
    return row


def get(session: Session, *, org_id: str, resource_id: str) -> ProtectedResource:
    row = session.get(ProtectedResource, resource_id) if len(resource_id) <= 64 else None
    if row is None or row.org_id != org_id:
        raise NotFound(f"no resource {resource_id} in this organization")
    return row


def list_resources(session: Session, *, org_id: str) -> Sequence[ProtectedResource]:
    stmt = select(ProtectedResource).where(ProtectedResource.org_id == org_id)
    return session.exec(stmt.order_by(ProtectedResource.created_at, ProtectedResource.id)).all()


def replace(
    session: Session, *, org_id: str, resource_id: str, body: dict[str, Any], actor: str
) -> ProtectedResource:
    row = get(session, org_id=org_id, resource_id=resource_id)
    for key, value in _validated(body).items():
        setattr(row, key, value)
    row.updated_at = datetime.now(UTC)
    _flush_unique(session, row)
    _audit(session, row, "resource.update", actor)
    return row


def delete(session: Session, *, org_id: str, resource_id: str, actor: str) -> None:
    row = get(session, org_id=org_id, resource_id=resource_id)
    session.delete(row)
    _audit(session, row, "resource.delete", actor)


def require_registered(session: Session, *, org_id: str, resource: str | None) -> None:
    """RFC 8707 §2: once an org lists its resources, a token names one of them or none."""
    if resource is None:
        return
    org_rows = select(ProtectedResource.resource_uri).where(ProtectedResource.org_id == org_id)
    if session.exec(org_rows.where(ProtectedResource.resource_uri == resource)).first():
        return
    if session.exec(org_rows.limit(1)).first() is not None:
        raise InvalidGrant(
            f"{resource} is not registered as a protected resource of this organization",
            code="invalid_target",
        )


def metadata(row: ProtectedResource) -> dict[str, Any]:
    """The RFC 9728 protected resource metadata document for one resource."""
    scopes = set(row.tools.values())
    if row.default_permission:
        scopes.add(row.default_permission)
    return {
        "resource": row.resource_uri,
        "resource_name": row.name,
        "authorization_servers": [access_tokens.issuer_for(row.org_id)],
        "bearer_methods_supported": ["header"],
        "scopes_supported": sorted(scopes),
    }


def bound_audience(org_id: str, token: str) -> str | None:
    """The token's aud when it is one of this org's registered resources, else None (the
    issuer). Unverified here: the caller verifies the token against the audience returned."""
    try:
        aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return None
    if not isinstance(aud, str) or aud == access_tokens.issuer_for(org_id):
        return None
    if len(aud) > 2048 or not aud.isprintable():  # unverified input: never a query parameter
        return None
    with read_session() as session:
        stmt = select(ProtectedResource.id).where(
            ProtectedResource.org_id == org_id, ProtectedResource.resource_uri == aud
        )
        return aud if session.exec(stmt).first() is not None else None


def resource_for_request(
    session: Session, *, org_id: str, caller_aud: str, permission: str, resource: str | None
) -> str | None:
    """A resource server opening a JIT request with its caller's token (jitgate.mcp) may ask
    only for itself and only for a permission its tool map names: the token it gets back is
    then good on that server alone, for one of its own tools."""
    if caller_aud == access_tokens.issuer_for(org_id):
        return resource
    if resource is not None and resource != caller_aud:
        raise Forbidden(f"a token for {caller_aud} opens JIT requests for that resource only")
    stmt = select(ProtectedResource).where(
        ProtectedResource.org_id == org_id, ProtectedResource.resource_uri == caller_aud
    )
    row = session.exec(stmt).first()
    mapped = set(row.tools.values()) | {row.default_permission} if row else set()
    if permission not in mapped:
        raise Forbidden(f"{permission} is not a permission of {caller_aud}'s tools")
    return caller_aud

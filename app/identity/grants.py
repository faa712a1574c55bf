"""The token endpoint's grant types: one table, one entry (form fields + authenticator) per grant.

A grant is added by writing its authenticator and one GRANT_TYPES entry; the token route, its
OpenAPI form and the error for an unknown grant_type all read this table.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.core.errors import InvalidClient, InvalidGrant, InvalidRequest, UnsupportedGrantType
from app.identity import exchange, tokens
from app.identity.assertions import AssertionRejected

Form = dict[str, str]
Authenticator = Callable[..., tokens.Grant]


@dataclass(frozen=True)
class GrantType:
    name: str  # the grant_type value
    fields: dict[str, dict[str, Any]]  # this grant's own form fields, as OpenAPI properties
    # The JWT the grant verifies, taken from the form before any I/O: a missing field is
    # refused without touching the database, and the route reads it to pick its fast path.
    credential: Callable[[Form], str]
    authenticate: Authenticator  # (session, *, org_id, form, credential) -> Grant
    issued_token_type: str | None = None  # RFC 8693 §2.2.1 answers name what was issued


# Fields every grant may carry.
COMMON_FIELDS: dict[str, dict[str, Any]] = {
    "scope": {"type": "string", "description": "space-separated capabilities"},
    "resource": {"type": "string", "description": "RFC 8707 audience (absolute URI)"},
}


# --- client_credentials with an RFC 7523 client assertion -----------------------------------


def _client_assertion(form: Form) -> str:
    if form.get("client_assertion_type") != tokens.CLIENT_ASSERTION_TYPE:
        raise InvalidClient("client_assertion_type must be " + tokens.CLIENT_ASSERTION_TYPE)
    if not form.get("client_assertion"):
        raise InvalidClient("client_assertion is required")
    return form["client_assertion"]


def authenticate_client_credentials(
    session: Session, *, org_id: str, form: Form, credential: str
) -> tokens.Grant:
    return tokens.authenticate(
        session,
        org_id=org_id,
        assertion=credential,
        scope=form.get("scope"),
        resource=form.get("resource"),
    )


# --- RFC 7523 §2.1: the assertion is the grant ----------------------------------------------


def _grant_assertion(form: Form) -> str:
    if not form.get("assertion"):
        raise InvalidRequest("assertion is required for the jwt-bearer grant")
    return form["assertion"]


def authenticate_jwt_bearer(
    session: Session, *, org_id: str, form: Form, credential: str
) -> tokens.Grant:
    try:
        return authenticate_client_credentials(
            session, org_id=org_id, form=form, credential=credential
        )
    except AssertionRejected as exc:
        # RFC 7523 §3.1: a bad assertion *grant* is invalid_grant (400), not invalid_client.
        raise InvalidGrant(exc.description) from exc


GRANT_TYPES: dict[str, GrantType] = {
    g.name: g
    for g in (
        GrantType(
            name="client_credentials",
            fields={
                "client_assertion_type": {
                    "type": "string",
                    "enum": [tokens.CLIENT_ASSERTION_TYPE],
                },
                "client_assertion": {"type": "string", "description": "client_credentials form"},
            },
            credential=_client_assertion,
            authenticate=authenticate_client_credentials,
        ),
        GrantType(
            name=tokens.JWT_BEARER_GRANT,
            fields={"assertion": {"type": "string", "description": "jwt-bearer grant form"}},
            credential=_grant_assertion,
            authenticate=authenticate_jwt_bearer,
        ),
        GrantType(
            name=exchange.TOKEN_EXCHANGE_GRANT,
            fields={
                "subject_token": {"type": "string", "description": "token-exchange grant form"},
                "subject_token_type": {
                    "type": "string",
                    "enum": [exchange.JWT_TOKEN_TYPE, exchange.ACCESS_TOKEN_TYPE],
                },
                "requested_token_type": {"type": "string", "enum": [exchange.ACCESS_TOKEN_TYPE]},
                "actor_token": {"type": "string", "description": "delegation: the actor's token"},
                "actor_token_type": {"type": "string", "enum": [exchange.ACCESS_TOKEN_TYPE]},
            },
            credential=exchange.subject_token,
            authenticate=exchange.authenticate_exchange,
            issued_token_type=exchange.ACCESS_TOKEN_TYPE,
        ),
    )
}


def grant_type_of(form: Form) -> GrantType:
    name = form.get("grant_type")
    if not name:
        raise InvalidRequest("grant_type is required")
    grant = GRANT_TYPES.get(name)
    if grant is None:
        raise UnsupportedGrantType(f"grant_type {name[:80]!r} is not supported")
    return grant


def token_form_schema() -> dict[str, Any]:
    """The token endpoint's OpenAPI form: grant_type, then each grant's fields, then the
    common ones."""
    properties: dict[str, Any] = {
        "grant_type": {"type": "string", "enum": list(GRANT_TYPES)},
    }
    for grant in GRANT_TYPES.values():
        properties.update(grant.fields)
    properties.update(COMMON_FIELDS)
    return {"type": "object", "required": ["grant_type"], "properties": properties}

"""Discovery: the org issuer's RFC 8414 metadata and the JWKS that verifies its tokens."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.http.deps import OrgId, SessionDep, require_org
from app.identity.access_tokens import issuer_for, token_endpoint_for
from app.identity.grants import GRANT_TYPES
from app.identity.keys import published_keys

router = APIRouter(tags=["discovery"])


@router.get("/orgs/{org_id}/.well-known/jwks.json")
def jwks(org_id: OrgId, session: SessionDep) -> JSONResponse:
    require_org(org_id)
    keys = published_keys(session, org_id)
    return JSONResponse({"keys": keys}, headers={"Cache-Control": "max-age=300"})


# RFC 8414 §3.1 inserts the well-known path before the issuer's path; the second form is the
# path-appended one many clients also try.
@router.get("/.well-known/oauth-authorization-server/orgs/{org_id}")
@router.get("/orgs/{org_id}/.well-known/oauth-authorization-server")
def metadata(org_id: OrgId, session: SessionDep) -> dict[str, Any]:
    require_org(org_id)
    issuer = issuer_for(org_id)
    api = f"{issuer}/api/v1"
    return {
        "issuer": issuer,
        "token_endpoint": token_endpoint_for(org_id),
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{api}/oauth/introspect",
        "revocation_endpoint": f"{api}/oauth/revoke",
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256", "RS256", "PS256"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "revocation_endpoint_auth_methods_supported": ["bearer"],
        "response_types_supported": [],
        "scopes_supported": [],
        "jit_requests_endpoint": f"{api}/jit/requests",
        "jit_consume_endpoint": f"{api}/jit/tokens/consume",
    }

"""A JIT token is good for exactly its one operation: every other route refuses it as a bearer.

The routes are read from the application itself, so a route added later is walked too, and one
that fits none of the classes below fails the classification test until someone decides who may
call it (and writes that down in the README's table of credentials).
"""

from typing import Any

import pytest

from app.main import API_PREFIX, create_app
from tests.helpers import assert_oauth_error
from tests.jit.conftest import OPERATION

# Redeem the token: the only places a JIT token is a credential.
REDEMPTION = {
    ("POST", f"{API_PREFIX}/authz/check"),  # a JIT token as bearer is redeemed here, once
    ("POST", f"{API_PREFIX}/jit/tokens/consume"),  # the token in the body is the credential
}
# Authenticated by something other than a bearer token (a client assertion).
CLIENT_AUTH = {("POST", f"{API_PREFIX}/oauth/token")}
# No credential at all: discovery documents, documentation, sign-in pages and static files.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/orgs/{org_id}/.well-known/jwks.json"),
    ("GET", "/orgs/{org_id}/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/oauth-authorization-server/orgs/{org_id}"),
    ("GET", "/orgs/{org_id}/.well-known/oauth-protected-resource/resources/{resource_id}"),
    ("GET", "/orgs/{org_id}/.well-known/authzen-configuration"),
    ("GET", "/.well-known/authzen-configuration/orgs/{org_id}"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard/"),
    ("GET", "/dashboard/login"),
    ("POST", "/dashboard/login"),
    ("POST", "/dashboard/login/email"),
    ("GET", "/dashboard/login/link/{token}"),
    ("POST", "/dashboard/login/link/{token}"),
    ("GET", "/dashboard/static/{name}"),
    ("GET", "/dashboard/{anything:path}"),
    ("GET", "/admin"),
    ("GET", "/admin/"),
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("POST", "/admin/login/email"),
    ("GET", "/admin/login/link/{token}"),
    ("POST", "/admin/login/link/{token}"),
    ("GET", "/admin/static/{name}"),
}
# Bearer routes outside the API prefix (the AuthZEN PDP answers at its own path, §"HTTPS Binding").
BEARER_OUTSIDE_API = {
    ("POST", "/orgs/{org_id}/access/v1/evaluation"),
    ("POST", "/orgs/{org_id}/access/v1/evaluations"),
}
# Their own credential (a dashboard session cookie, a Slack signature, a signed email link):
# a bearer header means nothing there, so a JIT token must not get a 2xx.
OWN_CREDENTIAL = {
    ("POST", "/integrations/slack/interactions"),
    ("GET", "/approve-link/{token}"),
    ("POST", "/approve-link/{token}"),
    ("POST", "/dashboard/logout"),
    ("GET", "/dashboard/pending"),
    ("GET", "/dashboard/fragments/pending"),
    ("GET", "/dashboard/requests/{request_id}"),
    ("POST", "/dashboard/requests/{request_id}/approve"),
    ("POST", "/dashboard/requests/{request_id}/deny"),
    ("GET", "/dashboard/history"),
    ("GET", "/dashboard/audit"),
    ("WS", "/dashboard/ws"),
    # The admin portal: an admin session cookie (app/admin/session.py).
    *(
        ("GET", f"/admin/{page}")
        for page in ("overview", "agents", "agents/{agent_id}", "approvers", "policies")
    ),
    *(("GET", f"/admin/{page}") for page in ("catalog", "tokens", "audit", "audit/export.{fmt}")),
    ("GET", "/admin/{anything:path}"),
    *(("POST", f"/admin/{form}") for form in ("agents", "approvers", "catalog", "policies")),
    *(("POST", f"/admin/agents/{{agent_id}}/{form}") for form in ("keys", "settings", "status")),
    *(("POST", f"/admin/approvers/{{approver_id}}/{form}") for form in ("rotate", "status")),
    ("POST", "/admin/policies/{policy_id}/delete"),
    *(("GET", f"/admin/{page}") for page in ("issuers", "federation", "resources")),
    *(("POST", f"/admin/{form}") for form in ("issuers", "federation", "resources", "catalog/ask")),
    ("POST", "/admin/issuers/{issuer_id}/delete"),
    ("POST", "/admin/federation/{agent_id}/{rule_id}/delete"),
    ("POST", "/admin/resources/{resource_id}/delete"),
    ("POST", "/admin/tokens"),
    ("POST", "/admin/tokens/{token_id}/revoke"),
    ("POST", "/admin/logout"),
}


def _walk(routes: Any) -> Any:
    for route in routes:
        nested = getattr(route, "effective_route_contexts", None)
        if nested is not None:  # an included router (FastAPI ≥ 0.16x keeps them nested)
            yield from _walk(nested())
        else:
            yield route


def all_routes() -> list[tuple[str, str]]:
    found = set()
    for route in _walk(create_app().routes):
        # A WebSocket route's context keeps its path on the route it wraps.
        path = route.path or route.original_route.path
        for method in getattr(route, "methods", None) or {"WS"}:
            if method != "HEAD":
                found.add((method, path))
    return sorted(found)


ROUTES = all_routes()
BEARER_ROUTES = [
    r
    for r in ROUTES
    if (r[1].startswith(API_PREFIX) or r in BEARER_OUTSIDE_API)
    and r not in REDEMPTION
    and r not in CLIENT_AUTH
]


def _call(client: Any, method: str, path: str, org_id: str, token: str) -> Any:
    url = path.replace("{org_id}", org_id)
    for name in ("{request_id}", "{agent_id}", "{policy_id}", "{token}", "{name}"):
        url = url.replace(name, "x")
    url = url.replace("{anything:path}", "x")
    # Not followed: a redirect to the sign-in page is a refusal, not a 200.
    kw: dict[str, Any] = {
        "headers": {"Authorization": f"Bearer {token}"},
        "follow_redirects": False,
    }
    if "/oauth/" in path:  # OAuth endpoints read forms
        return client.request(method, url, data={"token": token}, **kw)
    return client.request(method, url, json=None if method in ("GET", "DELETE") else {}, **kw)


def test_the_route_walk_sees_every_documented_route():
    # Given the OpenAPI document, when its operations are compared with the walk,
    # then the walk misses none (so the refusal test below cannot silently skip one).
    spec = create_app().openapi()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert documented <= set(ROUTES)
    assert len(BEARER_ROUTES) >= 25


def test_every_route_says_who_may_call_it():
    # Given every route of the application, then each one outside the agent/admin/approver API
    # is classified here; a new one fails until someone decides which credential it takes.
    classified = REDEMPTION | CLIENT_AUTH | PUBLIC | OWN_CREDENTIAL | BEARER_OUTSIDE_API
    unclassified = [r for r in ROUTES if not r[1].startswith(API_PREFIX) and r not in classified]
    assert unclassified == []
    stale = [r for r in classified if r not in ROUTES]
    assert stale == []


@pytest.fixture
def approved(jit, agent, alice) -> tuple[str, str]:
    jit.policy([alice])
    return jit.approved_token(agent, alice)


@pytest.mark.parametrize(
    ("method", "path"), BEARER_ROUTES, ids=[f"{m} {p}" for m, p in BEARER_ROUTES]
)
def test_a_jit_token_is_refused_as_a_bearer(client, org, jit, approved, method, path):
    # Given an approved, unused JIT token, when it is presented as the bearer of a route other
    # than its redemption, then the route refuses it as a credential (401 invalid_token)...
    _, token = approved
    resp = _call(client, method, path, org.org_id, token)
    assert_oauth_error(resp, 401, "invalid_token")
    # ...and the refusal did not burn it: it still redeems, exactly once.
    assert jit.consume(token).status_code == 200
    assert_oauth_error(jit.consume(token), 409, "token_already_used")


@pytest.mark.parametrize(
    ("method", "path"), sorted(r for r in OWN_CREDENTIAL if r[0] != "WS"), ids=str
)
def test_a_jit_token_opens_no_session_or_signed_route(client, org, approved, method, path):
    _, token = approved
    resp = _call(client, method, path, org.org_id, token)
    assert not 200 <= resp.status_code < 300, (resp.status_code, resp.text[:200])


def test_a_jit_token_cannot_open_a_new_request_in_its_agents_name(jit, approved):
    # The attack as reported: the resource server handed the token opens an auto-approved request.
    _, token = approved
    resp = jit.client.post(
        f"{jit.org.api}/jit/requests",
        json={"permission": "document.read", "justification": "x", "operation": OPERATION},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_oauth_error(resp, 401, "invalid_token", mentions="JIT token")


def test_the_agents_own_access_token_still_opens_requests(jit, agent, approved):
    # The refusal is about the JIT token, not the agent: its ordinary token keeps working.
    resp = jit.request(agent, permission="document.read")
    assert resp.status_code == 200 and resp.json()["status"] == "approved", resp.text

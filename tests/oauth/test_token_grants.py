"""Token endpoint: grant forms, request encoding, scope and resource rules, key types, limits."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as rsa_key

from tests.factories import DROP, register_agent, request_token, set_policy
from tests.helpers import (
    assert_nothing_issued,
    assert_oauth_error,
    assert_rule,
    audit_events,
    fill_orgs_share,
    issued_tokens,
    unqueue_from_room,
)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def claims_of(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def post_form(client, org, data):
    return client.post(f"{org.api}/oauth/token", data=data)


# --- grant forms -------------------------------------------------------------------------


def test_client_credentials_with_assertion_issues_a_bearer_token(client, org, agent):
    resp = request_token(client, org, agent.assertion())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert resp.headers["cache-control"] == "no-store"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "EdDSA" and header["kid"]
    claims = claims_of(body["access_token"])
    assert claims["iss"] == org.issuer and claims["aud"] == org.issuer
    assert claims["sub"] == claims["client_id"] == agent.agent_id
    assert claims["agent"] == agent.name and claims["org"] == org.org_id
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"]
    assert issued_tokens(agent.agent_id) == 1


def test_jwt_bearer_grant_issues_a_token(client, org, agent):
    resp = post_form(client, org, {"grant_type": JWT_BEARER, "assertion": agent.assertion()})
    assert resp.status_code == 200, resp.text
    assert claims_of(resp.json()["access_token"])["sub"] == agent.agent_id


@pytest.mark.parametrize(
    ("claims", "rule"),
    [({"exp": DROP}, "exp"), ({"aud": "https://elsewhere.example"}, "aud"), ({"jti": DROP}, "jti")],
)
def test_jwt_bearer_grant_errors_are_invalid_grant(client, org, agent, claims, rule):
    # RFC 7523 §3.1: a bad assertion *grant* is invalid_grant (400), not invalid_client
    resp = post_form(
        client, org, {"grant_type": JWT_BEARER, "assertion": agent.assertion(**claims)}
    )
    assert_oauth_error(resp, 400, "invalid_grant", mentions=f"({rule})")
    assert_nothing_issued(client, org, agent.agent_id, rule=rule)


def test_jwt_bearer_grant_without_assertion_is_invalid_request(client, org, agent):
    resp = post_form(client, org, {"grant_type": JWT_BEARER})
    assert_oauth_error(resp, 400, "invalid_request", mentions="assertion")
    assert issued_tokens(agent.agent_id) == 0


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", "x" * 500])
def test_unsupported_grant_type_is_refused(client, org, agent, grant):
    data = {"grant_type": grant, "client_assertion_type": ASSERTION_TYPE}
    resp = post_form(client, org, {**data, "client_assertion": agent.assertion()})
    body = assert_oauth_error(resp, 400, "unsupported_grant_type", mentions="grant_type")
    assert len(body["error_description"]) < 200
    assert issued_tokens(agent.agent_id) == 0


def test_missing_grant_type_is_invalid_request(client, org, agent):
    resp = post_form(client, org, {"client_assertion": agent.assertion()})
    assert_oauth_error(resp, 400, "invalid_request", mentions="grant_type")
    assert issued_tokens(agent.agent_id) == 0


def test_wrong_client_assertion_type_is_invalid_client(client, org, agent):
    resp = request_token(client, org, agent.assertion(), client_assertion_type="urn:x:saml")
    assert_oauth_error(resp, 401, "invalid_client", mentions="client_assertion_type")
    assert issued_tokens(agent.agent_id) == 0


def test_missing_client_assertion_is_invalid_client(client, org, agent):
    resp = request_token(client, org, "")
    assert_oauth_error(resp, 401, "invalid_client", mentions="client_assertion")
    assert issued_tokens(agent.agent_id) == 0


def test_json_body_instead_of_form_is_refused(client, org, agent):
    body = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": agent.assertion(),
    }
    resp = client.post(f"{org.api}/oauth/token", json=body)
    assert_oauth_error(resp, 400, "invalid_request", mentions="x-www-form-urlencoded")
    assert issued_tokens(agent.agent_id) == 0


def test_multipart_body_is_refused(client, org, agent):
    resp = client.post(
        f"{org.api}/oauth/token",
        files={"client_assertion": ("a", agent.assertion().encode())},
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE},
    )
    assert_oauth_error(resp, 400, "invalid_request", mentions="x-www-form-urlencoded")
    assert issued_tokens(agent.agent_id) == 0


@pytest.mark.parametrize("param", ["grant_type", "client_assertion", "scope"])
def test_repeated_parameter_is_refused(client, org, agent, param):
    # RFC 6749 §3.2: request parameters MUST NOT be included more than once
    pairs = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", agent.assertion()),
        ("scope", "document.read"),
    ]
    pairs.append(next(p for p in pairs if p[0] == param))
    resp = client.post(
        f"{org.api}/oauth/token",
        content="&".join(f"{k}={v}" for k, v in pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(resp, 400, "invalid_request", mentions="repeated")
    assert issued_tokens(agent.agent_id) == 0


# The token endpoint is a LeanRoute (it reads its own path and form): the framework's usual
# answers must still hold for it.


def test_token_endpoint_with_another_method_is_405(client, org):
    resp = client.get(f"{org.api}/oauth/token")
    assert_oauth_error(resp, 405, "method_not_allowed")
    assert resp.headers["allow"] == "POST"


def test_token_endpoint_with_a_malformed_org_id_is_422(client, org, agent):
    resp = client.post(
        "/orgs/bad.org/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": agent.assertion(),
        },
    )
    assert_oauth_error(resp, 422, "invalid_request", mentions="org_id")
    assert issued_tokens(agent.agent_id) == 0


def test_token_endpoint_documents_its_form(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/orgs/{org_id}/api/v1/oauth/token"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["org_id"]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["grant_type"]
    assert {"client_assertion", "assertion", "scope", "resource"} <= set(form["properties"])


# --- scope --------------------------------------------------------------------------------


def test_default_scope_is_every_standing_capability(client, org, agent):
    set_policy(client, org, "payments.authorize", "jit", groups=["finance"])
    set_policy(client, org, "email.send", "deny")
    resp = request_token(client, org, agent.assertion())
    assert resp.status_code == 200, resp.text
    assert resp.json()["scope"].split() == ["document.read", "document.summarize"]
    assert claims_of(resp.json()["access_token"])["scope"] == "document.read document.summarize"


def test_requested_scope_narrows_the_token(client, org, agent):
    resp = request_token(client, org, agent.assertion(), scope="document.read")
    assert resp.status_code == 200, resp.text
    assert resp.json()["scope"] == "document.read"


def test_jit_capability_in_scope_is_invalid_scope(client, org, agent):
    set_policy(client, org, "payments.*", "jit", groups=["finance"])
    resp = request_token(client, org, agent.assertion(), scope="document.read payments.authorize")
    assert_oauth_error(resp, 400, "invalid_scope", mentions="just-in-time")
    assert_nothing_issued(client, org, agent.agent_id)


def test_scope_outside_the_capabilities_is_invalid_scope(client, org, agent):
    resp = request_token(client, org, agent.assertion(), scope="document.read admin.delete")
    assert_oauth_error(resp, 400, "invalid_scope", mentions="registered capabilities")
    assert_nothing_issued(client, org, agent.agent_id)


def test_denied_capability_in_scope_is_invalid_scope(client, org, agent):
    set_policy(client, org, "email.send", "deny")
    resp = request_token(client, org, agent.assertion(), scope="email.send")
    assert_oauth_error(resp, 400, "invalid_scope", mentions="denied")
    assert_nothing_issued(client, org, agent.agent_id)


def test_too_many_scope_values_is_invalid_scope(client, org, agent):
    resp = request_token(client, org, agent.assertion(), scope=" ".join(["document.read"] * 201))
    assert_oauth_error(resp, 400, "invalid_scope", mentions="too many")
    assert_nothing_issued(client, org, agent.agent_id)


# --- resource (RFC 8707) ------------------------------------------------------------------


def test_resource_becomes_the_tokens_audience(client, org, agent):
    resp = request_token(client, org, agent.assertion(), resource="https://docs.example/api")
    assert resp.status_code == 200, resp.text
    assert claims_of(resp.json()["access_token"])["aud"] == "https://docs.example/api"


@pytest.mark.parametrize(
    "resource",
    [
        "not a uri",
        "/relative/path",
        "https://docs.example/#frag",
        "https://x/\x00",
        "https://x/\n",
        "http://[::1",
    ],
    ids=["text", "relative", "fragment", "nul", "newline", "unbalanced-ipv6-bracket"],
)
def test_invalid_resource_is_invalid_target(client, org, agent, resource):
    resp = request_token(client, org, agent.assertion(), resource=resource)
    assert_oauth_error(resp, 400, "invalid_target", mentions="resource")
    assert_nothing_issued(client, org, agent.agent_id)


# --- key types ----------------------------------------------------------------------------


def _ec_agent(client, org):
    key = generate_private_key(SECP256R1())
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "ec-1"}
    return register_agent(
        client, org, capabilities=["document.read"], private_key=key, jwk=jwk, alg="ES256"
    )


def _rsa_agent(client, org, alg):
    key = rsa_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk = {**jwk, "kid": f"rsa-{alg}", "alg": alg}
    return register_agent(
        client, org, capabilities=["document.read"], private_key=key, jwk=jwk, alg=alg
    )


def test_p256_agent_key_signs_es256_assertions(client, org):
    agent = _ec_agent(client, org)
    resp = request_token(client, org, agent.assertion())
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_rsa_2048_agent_key_signs_assertions(client, org, alg):
    agent = _rsa_agent(client, org, alg)
    resp = request_token(client, org, agent.assertion())
    assert resp.status_code == 200, resp.text


def test_rsa_key_registered_for_ps256_refuses_rs256(client, org):
    agent = _rsa_agent(client, org, "PS256")
    agent.alg = "RS256"
    resp = request_token(client, org, agent.assertion())
    assert_rule(resp, "alg")
    assert_nothing_issued(client, org, agent.agent_id, rule="alg")


# --- limits -------------------------------------------------------------------------------


def test_oversized_body_is_413(client, org, agent):
    resp = request_token(client, org, agent.assertion(), scope="x" * (70 * 1024))
    assert_oauth_error(resp, 413, "request_too_large")
    assert issued_tokens(agent.agent_id) == 0


def test_oversized_streamed_form_is_413(client, org, agent):
    def chunks():
        yield b"grant_type=client_credentials&scope="
        for _ in range(80):
            yield b"x" * 1024

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = client.post(f"{org.api}/oauth/token", content=chunks(), headers=headers)
    assert_oauth_error(resp, 413, "request_too_large")
    assert issued_tokens(agent.agent_id) == 0


def test_oversized_headers_are_431(client, org, agent):
    resp = client.post(
        f"{org.api}/oauth/token",
        data={"grant_type": "client_credentials", "client_assertion": agent.assertion()},
        headers={"X-Padding": "p" * (9 * 1024)},
    )
    assert_oauth_error(resp, 431, "request_too_large")
    assert issued_tokens(agent.agent_id) == 0


def test_oversized_assertion_is_refused_as_malformed(client, org, agent):
    resp = request_token(client, org, agent.assertion(pad="p" * 9000))
    assert_rule(resp, "malformed")
    assert_nothing_issued(client, org, agent.agent_id, rule="malformed")


# --- audit --------------------------------------------------------------------------------


def test_issued_and_refused_tokens_are_audit_events(client, org, agent):
    agent.token(client)
    request_token(client, org, agent.assertion(aud="https://elsewhere.example"))
    events = audit_events(client, org, action="token.issue")
    issued = [e for e in events if e["outcome"] == "success"]
    refused = [e for e in events if e["outcome"] == "refused"]
    assert len(issued) == 1 and issued[0]["actor"] == agent.agent_id
    assert issued[0]["details"]["kid"] == agent.kid
    assert len(refused) == 1 and "(aud)" in refused[0]["reason"]


# The token form as documented before the grant table (issue 11, follow-up 4): the table must
# reproduce it field for field; a new grant only adds its own fields and grant_type value.
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
DOCUMENTED_TOKEN_FORM = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials", JWT_BEARER, EXCHANGE]},
        "client_assertion_type": {"type": "string", "enum": [ASSERTION_TYPE]},
        "client_assertion": {"type": "string", "description": "client_credentials form"},
        "assertion": {"type": "string", "description": "jwt-bearer grant form"},
        # issue 16: the token-exchange grant's own fields (RFC 8693 §2.1)
        "subject_token": {"type": "string", "description": "token-exchange grant form"},
        "subject_token_type": {
            "type": "string",
            "enum": [
                "urn:ietf:params:oauth:token-type:jwt",
                "urn:ietf:params:oauth:token-type:access_token",  # a further delegation hop
            ],
        },
        "requested_token_type": {
            "type": "string",
            "enum": ["urn:ietf:params:oauth:token-type:access_token"],
        },
        # delegation: the acting agent's own access token (RFC 8693 §2.1)
        "actor_token": {"type": "string", "description": "delegation: the actor's token"},
        "actor_token_type": {
            "type": "string",
            "enum": ["urn:ietf:params:oauth:token-type:access_token"],
        },
        "scope": {"type": "string", "description": "space-separated capabilities"},
        "resource": {"type": "string", "description": "RFC 8707 audience (absolute URI)"},
    },
}


def test_token_form_is_built_from_the_grant_table_without_changing_the_document(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/orgs/{org_id}/api/v1/oauth/token"]["post"]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form == DOCUMENTED_TOKEN_FORM


def test_standing_capabilities_follow_a_policy_reload_and_a_capability_change(monkeypatch):
    from types import SimpleNamespace

    from app.authz import policies
    from app.identity import tokens

    rules = (policies.PolicyRule("pol_1", "document.write", "jit"),)
    monkeypatch.setattr(policies, "rules_for_org", lambda org_id: rules)
    agent = SimpleNamespace(
        id="agt_memo", org_id="org_memo", capabilities=["a.read", "document.write"]
    )
    assert tokens.standing_capabilities(agent) == ["a.read"]
    # given the policies reloaded (a new tuple) without the JIT rule
    rules = ()
    assert tokens.standing_capabilities(agent) == ["a.read", "document.write"]
    # given the agent reloaded with other capabilities
    agent.capabilities = ["a.read"]
    assert tokens.standing_capabilities(agent) == ["a.read"]
    # and a caller changing the answer it got changes nothing for the next caller
    tokens.standing_capabilities(agent).append("x")
    assert tokens.standing_capabilities(agent) == ["a.read"]


def test_a_token_the_audit_trail_cannot_take_is_refused_with_503_and_its_assertion_kept(
    client, org, agent, monkeypatch
):
    from app.audit import service as audit

    assertion = agent.assertion()
    # Given an audit writer that makes no room (every queued count is at a bound of 0) ...
    monkeypatch.setattr(audit.writer, "bound", 0)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 0.05)
    # ... when the agent asks for a token, then it is told to retry, and nothing was issued:
    resp = request_token(client, org, assertion)
    assert resp.status_code == 503 and resp.json()["error"] == "temporarily_unavailable"
    assert resp.headers["retry-after"] == "2"  # as when the database is down
    monkeypatch.undo()
    # the same assertion (its jti not claimed) is still good once the writer has room.
    assert request_token(client, org, assertion).status_code == 200


def test_a_forged_assertion_is_refused_at_once_while_the_named_org_is_at_its_share(
    client, org, monkeypatch
):
    import jwt as pyjwt

    # Given the org's audit events at its whole share of the queue (the writer behind) ...
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=5)
    try:
        # ... when anyone sends a JWT-shaped assertion it did not sign, in the org's name
        forged = pyjwt.encode({"iss": "x", "sub": "x", "aud": "x"}, "k" * 32, algorithm="HS256")
        started = time.monotonic()
        resp = request_token(client, org, forged)
    finally:
        unqueue_from_room(room, org.org_id, 100)
    # then it is refused as unauthenticated at once: an unauthenticated request takes no org's
    # room (nor does it shrink every org's share with a made-up org id)
    assert_oauth_error(resp, 401, "invalid_client")
    assert time.monotonic() - started < 2


def test_an_org_issuing_tokens_past_its_share_waits_alone(
    client, org, agent, other_org, monkeypatch
):

    other_agent = register_agent(client, other_org, capabilities=["document.read"])
    # Given one org's audit events at its whole share of the queue (the writer behind), far
    # below the hard cap every org waits at ...
    room = fill_orgs_share(monkeypatch, org.org_id, timeout=0.3)
    try:
        # ... when its agent asks for a token, it waits for its own org's room and, the writer
        # writing nothing of it, is told to retry (its assertion was spent: it authenticated)
        started = time.monotonic()
        resp = request_token(client, org, agent.assertion())
        waited = time.monotonic() - started
        # while another org's agent is answered at once
        started = time.monotonic()
        other = request_token(client, other_org, other_agent.assertion())
        other_waited = time.monotonic() - started
    finally:
        unqueue_from_room(room, org.org_id, 100)
    assert_oauth_error(resp, 503, "temporarily_unavailable")
    assert waited >= 0.3
    assert other.status_code == 200, other.text
    assert other_waited < 0.3
    # and nothing was issued in the waiting org; a new assertion is good once there is room.
    assert issued_tokens(agent.agent_id) == 0
    assert request_token(client, org, agent.assertion()).status_code == 200


@pytest.mark.parametrize(
    ("grant", "status", "error"),
    [("client_credentials", 401, "invalid_client"), (JWT_BEARER, 400, "invalid_grant")],
)
def test_a_credential_that_is_not_a_jwt_is_refused_without_waiting_for_audit_room(
    client, org, monkeypatch, grant, status, error
):
    from app.audit import service as audit

    # Given an audit writer that makes no room, and would let a caller wait 5 s ...
    monkeypatch.setattr(audit.writer, "bound", 0)
    monkeypatch.setattr(audit, "ROOM_TIMEOUT_SECONDS", 5)
    started = time.monotonic()
    # ... when a caller sends a credential that is not even a JWT
    if grant == "client_credentials":
        resp = request_token(client, org, "not-a-jwt")
    else:
        form = {"grant_type": grant, "assertion": "not-a-jwt"}
        resp = client.post(f"{org.api}/oauth/token", data=form)
    # then it is refused at once, as before, with its OAuth error
    assert_oauth_error(resp, status, error)
    assert time.monotonic() - started < 2

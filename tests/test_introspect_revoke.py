"""Access tokens on the jitgate API: offline verification, revocation (RFC 7009), introspection
(RFC 7662), signing-key rotation, and the discovery documents (JWKS, RFC 8414 metadata)."""

import time
from datetime import timedelta

import jwt
import pytest
from click.testing import CliRunner

from app.cli import main
from app.core.columns import utcnow
from app.core.db import session_scope
from app.identity import access_tokens, tokens
from app.identity.keys import key_ring, rotate_signing_key
from app.models import Agent
from tests.factories import make_org, request_token
from tests.helpers import assert_oauth_error, audit_events, compact


def check(client, org, headers, permission="document.read"):
    return client.post(f"{org.api}/authz/check", json={"permission": permission}, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mint(agent, **kw) -> str:
    with session_scope() as session:
        row = session.get(Agent, agent.agent_id)
        kw.setdefault("audience", agent.org.issuer)
        issued = tokens.mint(session, agent=row, scope=["document.read"], ttl=600, **kw)
    return issued.access_token


def signed(claims: dict, **headers) -> str:
    key = key_ring.active(claims["org"])
    return jwt.encode(
        claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, **headers}
    )


def assert_check_refused(client, org, headers, error, mentions=None):
    """401 with the OAuth error body, and no decision was made or recorded."""
    before = len(audit_events(client, org, action="authz.check"))
    resp = check(client, org, headers)
    assert_oauth_error(resp, 401, error, mentions=mentions)
    assert len(audit_events(client, org, action="authz.check")) == before


def revoke(client, org, token, headers):
    return client.post(f"{org.api}/oauth/revoke", data={"token": token}, headers=headers)


def introspect(client, org, token, headers):
    resp = client.post(f"{org.api}/oauth/introspect", data={"token": token}, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    return resp.json()


# --- verification on /authz/check ---------------------------------------------------------


def test_a_fresh_access_token_is_accepted(client, org, agent):
    resp = check(client, org, agent.bearer(client))
    assert resp.status_code == 200 and resp.json()["allowed"] is True


def test_token_with_another_typ_is_refused(client, org, agent):
    claims = jwt.decode(agent.token(client), options={"verify_signature": False})
    headers = bearer(signed(claims, typ="JWT"))
    assert_check_refused(client, org, headers, "invalid_token", mentions="not an access token")


def test_token_without_typ_is_refused(client, org, agent):
    claims = jwt.decode(agent.token(client), options={"verify_signature": False})
    key = key_ring.active(org.org_id)
    token = jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    assert_check_refused(client, org, bearer(token), "invalid_token")


def test_token_signed_by_an_unknown_key_is_refused(client, org, agent):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    claims = jwt.decode(agent.token(client), options={"verify_signature": False})
    forged = jwt.encode(
        claims,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": key_ring.active(org.org_id).kid, "typ": "at+jwt"},
    )
    assert_check_refused(client, org, bearer(forged), "invalid_token")


def test_unsigned_token_is_refused(client, org, agent):
    claims = jwt.decode(agent.token(client), options={"verify_signature": False})
    kid = key_ring.active(org.org_id).kid
    token = compact({"alg": "none", "typ": "at+jwt", "kid": kid}, claims, b"")
    assert_check_refused(client, org, bearer(token), "invalid_token")


def test_another_orgs_token_is_refused(client, org, agent):
    other = make_org("Org B")
    assert_check_refused(client, other, agent.bearer(client), "invalid_token")


def test_token_for_a_resource_audience_is_refused_on_the_jitgate_api(client, org, agent):
    # given a token whose aud is a resource server (RFC 8707)
    resp = request_token(client, org, agent.assertion(), resource="https://docs.example/api")
    token = resp.json()["access_token"]
    # then jitgate itself does not accept it
    assert_check_refused(client, org, bearer(token), "invalid_token", mentions="Audience")


def test_expired_token_is_refused(client, org, agent):
    token = mint(agent, now=time.time() - 3600)
    assert_check_refused(client, org, bearer(token), "token_expired")


def test_token_not_yet_valid_is_refused(client, org, agent):
    token = mint(agent, now=time.time() + 600)
    assert_check_refused(client, org, bearer(token), "invalid_token")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer \u00e9",
    ],
    ids=["none", "scheme-only", "empty", "basic", "garbage", "dots", "latin1"],
)
def test_missing_or_garbage_bearer_is_401_with_www_authenticate(client, org, agent, header):
    headers = {"Authorization": header.encode("latin-1")} if header else {}
    resp = client.post(
        f"{org.api}/authz/check", json={"permission": "document.read"}, headers=headers
    )
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] in ("invalid_token", "invalid_request")
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert not audit_events(client, org, action="authz.check")


# --- revocation (RFC 7009) ----------------------------------------------------------------


def test_revoked_token_is_refused(client, org, agent):
    # given a working token
    token = agent.token(client)
    assert check(client, org, bearer(token)).status_code == 200
    # when the agent revokes it
    resp = revoke(client, org, token, bearer(token))
    assert resp.status_code == 200 and resp.json() == {}
    # then it no longer works, and the revocation is an audit event
    assert_check_refused(client, org, bearer(token), "token_revoked")
    assert audit_events(client, org, action="token.revoke")


def test_revocations_are_reloaded_when_the_process_restarts(client, org, agent):
    from app import runtime
    from app.core.kv import get_store

    # given a revoked token
    token = agent.token(client)
    assert revoke(client, org, token, org.admin).status_code == 200
    # when the process starts again with an empty in-memory store
    get_store.cache_clear()
    runtime.reload_revocations()
    # then the token is still refused
    assert_check_refused(client, org, bearer(token), "token_revoked")


def test_admin_may_revoke_any_token_of_the_org(client, org, agent):
    token = agent.token(client)
    assert revoke(client, org, token, org.admin).status_code == 200
    assert_check_refused(client, org, bearer(token), "token_revoked")


def test_an_agent_cannot_revoke_another_agents_token(client, org, agent):
    from tests.factories import register_agent

    other = register_agent(client, org, capabilities=["document.read"])
    victim = agent.token(client)
    assert revoke(client, org, victim, other.bearer(client)).status_code == 200
    assert check(client, org, bearer(victim)).status_code == 200
    assert not audit_events(client, org, action="token.revoke")


def test_another_orgs_admin_cannot_revoke(client, org, other_org, agent):
    token = agent.token(client)
    resp = revoke(client, org, token, other_org.admin)
    assert_oauth_error(resp, 404, "not_found")
    assert revoke(client, other_org, token, other_org.admin).status_code == 200
    assert check(client, org, bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", compact({"alg": "none"}, {"jti": "agt\x00x"}, b"")],
    ids=["garbage", "dots", "nul-jti"],
)
def test_revoking_an_unknown_token_answers_200_and_changes_nothing(client, org, agent, token):
    assert revoke(client, org, token, org.admin).status_code == 200
    assert not audit_events(client, org, action="token.revoke")


def test_revoke_needs_authentication_and_a_token(client, org, agent):
    token = agent.token(client)
    resp = client.post(f"{org.api}/oauth/revoke", data={"token": token})
    # No credentials at all: 401, with the same code as every other route that needs a bearer.
    assert_oauth_error(resp, 401, "invalid_request", mentions="bearer")
    resp = client.post(f"{org.api}/oauth/revoke", data={"other": "x"}, headers=org.admin)
    assert_oauth_error(resp, 400, "invalid_request", mentions="token")
    assert check(client, org, bearer(token)).status_code == 200


# --- introspection (RFC 7662) -------------------------------------------------------------


def test_introspection_of_a_live_token_is_active(client, org, agent):
    token = agent.token(client, scope="document.read")
    body = introspect(client, org, token, org.admin)
    assert body["active"] is True
    assert body["sub"] == body["client_id"] == agent.agent_id
    assert body["scope"] == "document.read" and body["iss"] == org.issuer
    assert body["token_type"] == "Bearer" and body["username"] == agent.name
    assert body["exp"] > time.time()


def test_introspection_of_a_resource_token_is_active_with_its_audience(client, org, agent):
    resp = request_token(client, org, agent.assertion(), resource="https://docs.example/api")
    body = introspect(client, org, resp.json()["access_token"], org.admin)
    assert body["active"] is True and body["aud"] == "https://docs.example/api"


def test_introspection_of_a_revoked_token_is_inactive(client, org, agent):
    token = agent.token(client)
    revoke(client, org, token, org.admin)
    assert introspect(client, org, token, org.admin) == {"active": False}


@pytest.mark.parametrize("change", ["suspend", "delete"])
def test_introspection_of_a_suspended_or_deleted_agents_token_is_inactive(
    client, org, agent, change
):
    # given a live token, and then its agent suspended or deleted by an admin
    token = agent.token(client)
    url = f"{org.api}/agents/{agent.agent_id}"
    if change == "suspend":
        client.patch(url, json={"status": "suspended"}, headers=org.admin)
    else:
        client.delete(url, headers=org.admin)
    # then a resource server asking about it learns it must not be honoured
    assert introspect(client, org, token, org.admin) == {"active": False}


def test_introspection_of_an_expired_token_is_inactive(client, org, agent):
    assert introspect(client, org, mint(agent, now=time.time() - 3600), org.admin) == {
        "active": False
    }


@pytest.mark.parametrize("kind", ["garbage", "assertion", "other-org"])
def test_introspection_of_foreign_tokens_is_inactive(client, org, agent, kind):
    if kind == "garbage":
        token = "not-a-token"
    elif kind == "assertion":
        token = agent.assertion()
    else:
        other = make_org("Org B")
        token = agent.token(client)
        org = other  # ask org B about org A's token
        assert introspect(client, org, token, other.admin) == {"active": False}
        return
    assert introspect(client, org, token, org.admin) == {"active": False}


def test_introspection_needs_authentication(client, org, agent):
    resp = client.post(f"{org.api}/oauth/introspect", data={"token": agent.token(client)})
    assert_oauth_error(resp, 401, "invalid_request", mentions="bearer")
    resp = client.post(
        f"{org.api}/oauth/introspect",
        data={"token": agent.token(client)},
        headers={"Authorization": "Basic Zm9vOmJhcg=="},
    )
    assert_oauth_error(resp, 401, "invalid_request", mentions="bearer")


# --- signing-key rotation -----------------------------------------------------------------


def test_token_signed_by_a_rotated_out_key_still_verifies(client, org, agent):
    # given a token signed before a rotation
    before = agent.token(client)
    old_kid = jwt.get_unverified_header(before)["kid"]
    # when the service's signing key is rotated from the command line
    result = CliRunner().invoke(main, ["keys", "rotate-signing"])
    assert result.exit_code == 0, result.output
    # then the old token still works, new tokens use the new key, and both are published
    assert check(client, org, bearer(before)).status_code == 200
    after = agent.token(client)
    new_kid = jwt.get_unverified_header(after)["kid"]
    assert new_kid != old_kid
    assert check(client, org, bearer(after)).status_code == 200
    kids = {
        k["kid"] for k in client.get(f"/orgs/{org.org_id}/.well-known/jwks.json").json()["keys"]
    }
    assert {old_kid, new_kid} <= kids


def test_rotated_out_key_leaves_the_jwks_once_its_tokens_have_expired(client, org, agent):
    # given a key retired long enough ago that every token it signed has expired
    old_kid = key_ring.active(org.org_id).kid
    with session_scope() as session:
        rotate_signing_key(session, org_id=org.org_id, now=utcnow() - timedelta(hours=2))
    key_ring.invalidate()
    # then it is no longer published, and tokens that name it are refused
    kids = {
        k["kid"] for k in client.get(f"/orgs/{org.org_id}/.well-known/jwks.json").json()["keys"]
    }
    assert old_kid not in kids and key_ring.active(org.org_id).kid in kids
    claims = jwt.decode(agent.token(client), options={"verify_signature": False})
    with session_scope() as session:
        from cryptography.hazmat.primitives import serialization

        from app.core.secrets import decrypt
        from app.models import SigningKey

        row = session.get(SigningKey, old_kid)
        old_private = serialization.load_pem_private_key(
            decrypt(row.private_key_encrypted).encode(), password=None
        )
    stale = jwt.encode(
        claims, old_private, algorithm="EdDSA", headers={"kid": old_kid, "typ": "at+jwt"}
    )
    assert_check_refused(client, org, bearer(stale), "invalid_token", mentions="key")


def test_a_longer_access_token_ttl_keeps_the_old_key_published_as_long(client, org, monkeypatch):
    # given a deployment whose access tokens live two hours
    from tests.helpers import jitgate_env

    with jitgate_env(monkeypatch, access_token_ttl="7200"):
        old_kid = key_ring.active(org.org_id).kid
        # when the key was rotated 90 minutes ago
        with session_scope() as session:
            rotate_signing_key(session, org_id=org.org_id, now=utcnow() - timedelta(minutes=90))
        key_ring.invalidate()
        # then tokens it signed have not expired yet, so it is still published
        jwks = client.get(f"/orgs/{org.org_id}/.well-known/jwks.json").json()
    assert old_kid in {k["kid"] for k in jwks["keys"]}


# --- discovery ----------------------------------------------------------------------------


def test_jwks_publishes_public_ed25519_keys_only(client, org, agent):
    resp = client.get(f"/orgs/{org.org_id}/.well-known/jwks.json")
    assert resp.status_code == 200
    keys = resp.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
        assert key["use"] == "sig" and key["kid"] and key["x"]
        assert not {"d", "p", "q", "k"} & key.keys()


def test_a_resource_server_can_verify_a_token_with_the_published_jwks(client, org, agent):
    token = agent.token(client)
    kid = jwt.get_unverified_header(token)["kid"]
    jwks = client.get(f"/orgs/{org.org_id}/.well-known/jwks.json").json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience=org.issuer, issuer=org.issuer
    )
    assert claims["sub"] == agent.agent_id


def test_authorization_server_metadata_describes_the_endpoints(client, org):
    resp = client.get(f"/orgs/{org.org_id}/.well-known/oauth-authorization-server")
    assert resp.status_code == 200
    meta = resp.json()
    assert meta["issuer"] == org.issuer
    assert meta["token_endpoint"] == org.token_endpoint
    assert meta["jwks_uri"] == f"{org.issuer}/.well-known/jwks.json"
    assert meta["introspection_endpoint"] == f"{org.issuer}/api/v1/oauth/introspect"
    assert meta["revocation_endpoint"] == f"{org.issuer}/api/v1/oauth/revoke"
    assert set(meta["grant_types_supported"]) == {
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert "none" not in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert not any(
        a.startswith("HS") for a in meta["token_endpoint_auth_signing_alg_values_supported"]
    )


def test_metadata_is_also_at_the_rfc_8414_inserted_path(client, org):
    # RFC 8414 §3.1: https://host/.well-known/oauth-authorization-server/<issuer path>
    inserted = client.get(f"/.well-known/oauth-authorization-server/orgs/{org.org_id}")
    appended = client.get(f"/orgs/{org.org_id}/.well-known/oauth-authorization-server")
    assert inserted.status_code == 200 and inserted.json() == appended.json()
    assert inserted.json()["issuer"] == org.issuer


@pytest.mark.parametrize("doc", ["jwks.json", "oauth-authorization-server"])
def test_discovery_of_an_unknown_org_is_404(client, doc):
    resp = client.get(f"/orgs/org_nope/.well-known/{doc}")
    assert_oauth_error(resp, 404, "not_found")


def test_issuer_helpers_match_the_metadata(org):
    assert access_tokens.issuer_for(org.org_id) == org.issuer
    assert access_tokens.token_endpoint_for(org.org_id) == org.token_endpoint


# --- the verified-token cache -------------------------------------------------------------


def test_a_cached_verification_still_honours_expiry_and_revocation(client, org, agent):
    from app.core.errors import TokenExpired, TokenRevoked
    from app.identity import access_tokens

    # given a token verified once (so its verification is cached)
    token = agent.token(client)
    claims = access_tokens.verify(token, org_id=org.org_id)
    assert access_tokens.verified_tokens.get((token, org.org_id, "")) is not None
    # then a later use past its expiry is refused without a new signature check
    with pytest.raises(TokenExpired):
        access_tokens.verify(token, org_id=org.org_id, now=claims["exp"] + 31)
    # and a revoked token is refused although its verification is cached
    resp = client.post(f"{org.api}/oauth/revoke", data={"token": token}, headers=org.admin)
    assert resp.status_code == 200
    with pytest.raises(TokenRevoked):
        access_tokens.verify(token, org_id=org.org_id)


def test_a_cached_verification_is_specific_to_the_org_it_was_presented_to(
    client, org, other_org, agent
):
    token = agent.token(client)
    assert check(client, org, bearer(token)).status_code == 200
    resp = client.post(
        f"{other_org.api}/authz/check", json={"permission": "document.read"}, headers=bearer(token)
    )
    assert_oauth_error(resp, 401, "invalid_token")


def test_revocation_while_the_token_record_cannot_be_written_is_503_not_a_silent_200(
    client, org, agent, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from app.core import row_writer

    real_write = row_writer.rows._write

    def database_down(items):
        raise OperationalError("INSERT", {}, ConnectionError("database unreachable"))

    # given a token whose record is still queued because the database is unreachable
    monkeypatch.setattr(row_writer.rows, "_write", database_down)
    token = agent.token(client)
    # then revoking it says so instead of answering 200 for a record it could not find
    resp = revoke(client, org, token, org.admin)
    assert_oauth_error(resp, 503, "temporarily_unavailable")
    assert resp.headers["retry-after"] == "2"  # as when the database is down
    # and once the database is back, nothing was lost: the revocation works
    monkeypatch.setattr(row_writer.rows, "_write", real_write)
    assert revoke(client, org, token, org.admin).status_code == 200
    assert_check_refused(client, org, bearer(token), "token_revoked")


def test_an_agent_learns_nothing_by_introspecting_another_agents_token(client, org, agent):
    from tests.factories import register_agent

    other = register_agent(client, org, capabilities=["document.read"])
    victim = agent.token(client)

    assert introspect(client, org, victim, other.bearer(client)) == {"active": False}
    assert introspect(client, org, victim, agent.bearer(client))["active"] is True  # its own


@pytest.mark.parametrize("route", ["revoke", "introspect"])
def test_a_caller_without_credentials_is_refused_before_any_write_is_awaited(
    client, org, agent, monkeypatch, route
):
    # given a row writer whose flush cannot finish (the database busy)
    from app.core import row_writer
    from app.core.batching import WriteBacklog

    token = agent.token(client)

    def busy() -> None:
        raise WriteBacklog("the database is busy")

    monkeypatch.setattr(row_writer.rows, "flush", busy)

    # when a caller without credentials, or an admin without a token, calls
    anonymous = client.post(f"{org.api}/oauth/{route}", data={"token": token})
    no_token = client.post(f"{org.api}/oauth/{route}", data={"other": "x"}, headers=org.admin)

    # then each hears its own refusal (401, 400), not the busy database's 503
    assert_oauth_error(anonymous, 401, "invalid_request", mentions="bearer")
    assert_oauth_error(no_token, 400, "invalid_request", mentions="token")

"""Each organization signs with its own key: one org's JWKS never verifies another org's tokens,
keys rotate per org, and tokens signed by the old shared key keep working until they expire."""

from datetime import timedelta

import jwt
import pytest
from click.testing import CliRunner

from app.cli import main
from app.core.columns import utcnow
from app.core.db import session_scope
from tests.helpers import assert_oauth_error


def jwks_of(client, org) -> dict[str, jwt.PyJWK]:
    resp = client.get(f"/orgs/{org.org_id}/.well-known/jwks.json")
    assert resp.status_code == 200
    return {k["kid"]: jwt.PyJWK(k, algorithm="EdDSA") for k in resp.json()["keys"]}


def verify_with(jwks: dict[str, jwt.PyJWK], token: str, audience: str) -> dict:
    """What a resource server does with an org's JWKS: the key by kid, EdDSA only."""
    kid = jwt.get_unverified_header(token)["kid"]
    if kid not in jwks:
        raise jwt.InvalidKeyError(f"kid {kid} is not in this JWKS")
    return jwt.decode(token, jwks[kid], algorithms=["EdDSA"], audience=audience)


def check(client, org, token):
    return client.post(
        f"{org.api}/authz/check",
        json={"permission": "document.read"},
        headers={"Authorization": f"Bearer {token}"},
    )


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_each_org_publishes_its_own_signing_keys(client, org, other_org):
    # given two organizations
    # then their JWKS share no key
    assert jwks_of(client, org) and jwks_of(client, other_org)
    assert not set(jwks_of(client, org)) & set(jwks_of(client, other_org))


def test_an_orgs_token_does_not_verify_with_another_orgs_jwks(client, org, agent, other_org):
    # given an access token issued by org A, which verifies with A's JWKS
    token = agent.token(client)
    assert verify_with(jwks_of(client, org), token, org.issuer)["sub"] == agent.agent_id
    # when a resource server of org B checks it against B's JWKS (even with A's audience)
    # then no key of B's verifies it
    with pytest.raises(jwt.PyJWTError):
        verify_with(jwks_of(client, other_org), token, org.issuer)


def test_an_orgs_token_is_refused_on_another_orgs_api(client, org, agent, other_org):
    # given an access token issued by org A
    token = agent.token(client)
    # when it is presented at org B's API
    # then B refuses it as unauthenticated
    assert_oauth_error(check(client, other_org, token), 401, "invalid_token")
    assert check(client, org, token).status_code == 200


def test_tokens_are_signed_with_the_issuing_orgs_key(client, org, agent, other_org):
    token = agent.token(client)
    assert kid_of(token) in jwks_of(client, org)
    assert kid_of(token) not in jwks_of(client, other_org)


def test_rotating_one_orgs_key_leaves_the_other_orgs_key_alone(client, org, agent, other_org):
    # given tokens of two orgs
    before = agent.token(client)
    other_kids = set(jwks_of(client, other_org))
    # when org A's signing key is rotated from the command line
    result = CliRunner().invoke(main, ["keys", "rotate-signing", "--org", org.org_id])
    assert result.exit_code == 0, result.output
    # then A signs with a new key, A's old token still works, and B's keys did not change
    after = agent.token(client)
    assert kid_of(after) != kid_of(before)
    assert {kid_of(before), kid_of(after)} <= set(jwks_of(client, org))
    assert check(client, org, before).status_code == 200
    assert check(client, org, after).status_code == 200
    assert set(jwks_of(client, other_org)) == other_kids


def test_rotating_an_unknown_org_is_a_one_line_error(client):
    result = CliRunner().invoke(main, ["keys", "rotate-signing", "--org", "org_nobody"])
    assert result.exit_code != 0
    assert "org_nobody" in result.output and "Traceback" not in result.output


def test_an_org_without_a_key_gets_one_on_first_use(client, agent):
    # given an org whose key rows are gone (as for an org created before per-org keys)
    from sqlmodel import delete

    from app.identity.keys import key_ring
    from app.models import SigningKey

    org = agent.org
    with session_scope() as session:
        session.exec(delete(SigningKey).where(SigningKey.org_id == org.org_id))
    key_ring.invalidate(org.org_id)
    # when its agent asks for a token
    token = agent.token(client)
    # then a key is created for the org, published, and the token works
    assert kid_of(token) in jwks_of(client, org)
    assert check(client, org, token).status_code == 200


# --- the transition from the shared key ------------------------------------------------------


@pytest.fixture
def legacy_kids():
    """Shared keys a test creates; removed afterwards, since they are published to every org."""
    from sqlmodel import delete

    from app.identity.keys import key_ring
    from app.models import SigningKey

    kids: list[str] = []
    yield kids
    with session_scope() as session:
        session.exec(delete(SigningKey).where(SigningKey.kid.in_(kids)))
    key_ring.invalidate()


def legacy_token(agent, kids: list[str], *, issued_ago: timedelta = timedelta()) -> str:
    """A shared key as an older release left it (no org), and a token it signed for the agent."""
    from app.identity import keys

    with session_scope() as session:
        row = keys.create_signing_key(session, org_id=None, now=utcnow() - issued_ago)
        kids.append(row.kid)
        private = keys.private_key_of(row)
    now = int((utcnow() - issued_ago).timestamp())
    claims = {
        "iss": agent.org.issuer,
        "sub": agent.agent_id,
        "aud": agent.org.issuer,
        "client_id": agent.agent_id,
        "agent": agent.name,
        "scope": "document.read",
        "org": agent.org.org_id,
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": f"legacy-{kids[-1][:8]}-{now}",
    }
    headers = {"kid": kids[-1], "typ": "at+jwt"}
    return jwt.encode(claims, private, algorithm="EdDSA", headers=headers)


def test_a_token_signed_by_the_old_shared_key_works_until_it_expires(
    client, org, agent, other_org, legacy_kids
):
    # given a token the shared key signed before the upgrade
    token = legacy_token(agent, legacy_kids)
    [kid] = legacy_kids
    # when the upgraded service starts (the shared key is published for one token lifetime)
    from app.identity import keys

    with session_scope() as session:
        keys.retire_shared_keys(session)
    keys.key_ring.invalidate()
    # then the token still works, the shared key is in the org's JWKS, and new tokens use the
    # org's own key
    assert check(client, org, token).status_code == 200
    assert kid in jwks_of(client, org) and kid in jwks_of(client, other_org)
    assert kid_of(agent.token(client)) != kid
    # and the iss check still keeps the shared key's tokens to their own org
    assert_oauth_error(check(client, other_org, token), 401, "invalid_token")


def test_the_old_shared_key_leaves_the_jwks_once_its_tokens_have_expired(
    client, org, agent, legacy_kids
):
    # given a shared key retired two hours ago (every token it signed has expired)
    from app.identity import keys

    token = legacy_token(agent, legacy_kids, issued_ago=timedelta(hours=2))
    [kid] = legacy_kids
    with session_scope() as session:
        keys.retire_shared_keys(session, now=utcnow() - timedelta(hours=2))
    keys.key_ring.invalidate()
    # then it is no longer published anywhere, and tokens naming it are refused
    assert kid not in jwks_of(client, org)
    assert_oauth_error(check(client, org, token), 401, "invalid_token", mentions="unknown key")


def test_restarting_does_not_extend_the_shared_keys_window(client, agent, legacy_kids):
    # given a shared key whose publication window started at an upgrade 30 minutes ago
    from app.identity import keys
    from app.models import SigningKey

    legacy_token(agent, legacy_kids)
    with session_scope() as session:
        keys.retire_shared_keys(session, now=utcnow() - timedelta(minutes=30))
    with session_scope() as session:
        until = session.get(SigningKey, legacy_kids[0]).publish_until
    # when the service starts again
    with session_scope() as session:
        assert keys.retire_shared_keys(session) == 0
    # then the window still ends when it did
    with session_scope() as session:
        assert session.get(SigningKey, legacy_kids[0]).publish_until == until


def test_start_up_gives_each_org_without_a_key_its_own(client, org, other_org):
    # given two orgs from before per-org keys (no key of their own)
    from sqlmodel import delete

    from app.identity import keys
    from app.models import SigningKey

    with session_scope() as session:
        session.exec(
            delete(SigningKey).where(SigningKey.org_id.in_([org.org_id, other_org.org_id]))
        )
    # when the service starts
    with session_scope() as session:
        assert keys.ensure_org_keys(session) >= 2
    # then each has its own key, and a second start creates none
    with session_scope() as session:
        mine, theirs = (keys.active_key_row(session, o.org_id) for o in (org, other_org))
        assert mine is not None and theirs is not None and mine.kid != theirs.kid
        assert keys.ensure_org_keys(session) == 0


def test_upgrading_a_database_with_the_shared_key(tmp_path):
    # given a database of the previous release: one org and the shared key (no org column)
    from alembic import command
    from sqlalchemy import text
    from sqlmodel import Session

    from app.core.db import make_engine
    from app.core.migrate import alembic_config, ensure_schema
    from app.identity import keys
    from app.models import SigningKey

    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(
            text(
                "INSERT INTO org (id, name, created_at, audit_seq, audit_head)"
                " VALUES ('acme', 'Acme', :t, 0, :head)"
            ),
            {"t": utcnow(), "head": "0" * 64},
        )
        conn.execute(
            text(
                "INSERT INTO signing_key (kid, private_key_encrypted, public_jwk, created_at)"
                " VALUES ('shared', 'x', '{\"kid\": \"shared\"}', :t)"
            ),
            {"t": utcnow()},
        )
    # when the new release migrates the schema and starts
    ensure_schema(engine)
    with Session(engine) as session:
        assert keys.ensure_org_keys(session) == 1
        assert keys.retire_shared_keys(session) == 1
        session.commit()
        # then the org has a key of its own, and publishes it next to the shared one for now
        own = keys.active_key_row(session, "acme")
        shared = session.get(SigningKey, "shared")
        assert own is not None and shared is not None and shared.org_id is None
        kids = {jwk["kid"] for jwk in keys.published_keys(session, "acme")}
        assert kids == {own.kid, "shared"}
        later = utcnow() + timedelta(hours=2)
        assert {jwk["kid"] for jwk in keys.published_keys(session, "acme", now=later)} == {own.kid}
    engine.dispose()

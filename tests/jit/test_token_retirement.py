"""A used or revoked JIT token is recorded as dead in its issued_token row, so the revocation
list an embedded server rebuilds at start-up still refuses it as a bearer."""

from sqlmodel import select

from app.core.db import session_scope
from app.core.kv import get_store
from app.models import IssuedToken
from app.runtime import reload_revocations
from tests.jit.conftest import PERMISSION


def simulate_restart() -> None:
    get_store.cache_clear()  # the in-memory revocation list is gone
    reload_revocations()


def as_bearer(client, org, token: str):
    url = f"{org.api}/agents/ask"
    return client.post(
        url,
        json={"question": "Can I read documents?"},
        headers={"Authorization": f"Bearer {token}"},
    )


def revoked_at(jti_of_token: str):
    import jwt

    jti = jwt.decode(jti_of_token, options={"verify_signature": False})["jti"]
    with session_scope() as session:
        return session.exec(select(IssuedToken.revoked_at).where(IssuedToken.jti == jti)).one()


def test_consumed_jit_token_is_refused_as_a_bearer_after_a_restart(jit, client, org, agent, alice):
    # given a JIT token used for its one operation
    jit.policy([alice])
    _, token = jit.approved_token(agent, alice)
    assert jit.consume(token).status_code == 200
    assert revoked_at(token) is not None
    # when the server starts again
    simulate_restart()
    # then the token is neither a bearer nor redeemable again
    refused = as_bearer(client, org, token)
    assert refused.status_code == 401, refused.text
    assert jit.consume(token).status_code == 409


def test_revoked_jit_token_is_refused_as_a_bearer_after_a_restart(jit, client, org, agent, alice):
    # given an approved JIT token revoked before use
    jit.policy([alice], permission=PERMISSION)
    request_id, token = jit.approved_token(agent, alice)
    url = f"{org.api}/jit/requests/{request_id}/revoke"
    assert client.post(url, headers=alice.headers).status_code == 200
    # when the server starts again
    simulate_restart()
    # then it is still refused as a bearer
    assert as_bearer(client, org, token).status_code == 401

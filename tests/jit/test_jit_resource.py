"""RFC 8707 `resource` on POST /jit/requests: the JIT token is audience-bound to that server."""

import jwt
import pytest

from tests.helpers import assert_oauth_error
from tests.jit.conftest import OPERATION, PERMISSION

RESOURCE = "https://payments.example/api"


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_jit_token_is_bound_to_the_resource_the_request_names(jit, agent, alice):
    # Given a request naming the resource server, when it is approved,
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice, resource=RESOURCE)
    # then the token's audience is that server, and the request shows it.
    assert _claims(token)["aud"] == RESOURCE
    assert jit.get(request_id, alice.headers)["resource"] == RESOURCE


def test_without_a_resource_the_jit_token_is_for_the_issuer_as_before(jit, org, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice)
    assert _claims(token)["aud"] == org.issuer
    assert jit.get(request_id, alice.headers)["resource"] is None


def test_the_resource_server_redeems_its_bound_token_exactly_once(jit, agent, alice):
    jit.policy([alice])
    request_id, token = jit.approved_token(agent, alice, resource=RESOURCE)
    # The SDK sends the token as the bearer too; consume reads the one in the body.
    url = f"{jit.org.api}/jit/tokens/consume"
    body = {"token": token, "permission": PERMISSION, "operation": OPERATION, "resource": RESOURCE}
    first = jit.client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200, first.text
    assert first.json()["request_id"] == request_id
    assert_oauth_error(jit.consume(token), 409, "token_already_used")


def test_a_bound_token_offered_to_another_server_is_refused_and_not_burnt(jit, agent, alice):
    # Given a token bound to one server, when another server says who it is at consume,
    jit.policy([alice])
    _, token = jit.approved_token(agent, alice, resource=RESOURCE)
    body = {"token": token, "permission": PERMISSION, "operation": OPERATION}
    other = {**body, "resource": "https://other.example/api"}
    resp = jit.client.post(f"{jit.org.api}/jit/tokens/consume", json=other)
    # then it is refused, and the token still redeems for the server it was made for.
    assert_oauth_error(resp, 403, "invalid_target")
    assert jit.consume(token).status_code == 200


def test_a_bound_token_is_no_credential_on_jitgate_itself(jit, agent, alice):
    # Its audience is the resource server: even /authz/check (redemption for issuer-bound
    # tokens) refuses it, and it is not used up by the refusal.
    jit.policy([alice])
    _, token = jit.approved_token(agent, alice, resource=RESOURCE)
    resp = jit.client.post(
        f"{jit.org.api}/authz/check",
        json={"permission": PERMISSION, "operation": OPERATION},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_oauth_error(resp, 401, "invalid_token")
    assert jit.consume(token).status_code == 200


@pytest.mark.parametrize(
    "resource",
    [
        "payments",
        "/relative/path",
        "https://payments.example/api#fragment",
        "http://[::1",
        "https://payments.example/a b",
        "https://" + "a" * 2050,
        "",
    ],
)
def test_a_resource_that_is_not_an_absolute_uri_is_refused(jit, agent, alice, resource):
    jit.policy([alice])
    resp = jit.request(agent, resource=resource)
    assert_oauth_error(resp, 400, "invalid_target")


def test_a_resource_holding_nul_is_refused_as_unstorable_text(jit, agent, alice):
    jit.policy([alice])
    resp = jit.request(agent, resource="https://payments.example/\x00")
    assert_oauth_error(resp, 422, "invalid_request")


def test_an_idempotent_retry_must_name_the_same_resource(jit, agent, alice):
    jit.policy([alice])
    jit.pending(agent, resource=RESOURCE, idempotency_key="k-1")
    again = jit.request(agent, resource="https://other.example/api", idempotency_key="k-1")
    assert_oauth_error(again, 409, "idempotency_conflict")

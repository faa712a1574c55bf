"""Second security review's findings: a key fetch never holds the write lock every org needs,
NUL never reaches PostgreSQL as a 500, the token exchange keeps RFC 8707, claims match exactly."""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.identity.exchange import _same
from tests.factories import make_org, register_agent
from tests.local_http import LocalServer, local_server


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


def _slow_key_calls(client, org, agent_id: str, uri: str) -> list:
    issuer = {
        "issuer": "https://ci.example",
        "kind": "workload",
        "audiences": ["x"],
        "jwks_uri": uri,
    }
    return [
        lambda: client.post(f"{org.api}/trusted-issuers", json=issuer, headers=org.admin),
        lambda: client.put(
            f"{org.api}/agents/{agent_id}/jwks", json={"jwks_uri": uri}, headers=org.admin
        ),
    ]


@pytest.mark.parametrize("call", [0, 1], ids=["trusted-issuer", "rotate-keys"])
def test_another_orgs_write_does_not_wait_for_a_slow_key_fetch(client, server, call):
    # Given org A's admin submitting a jwks_uri that answers one byte every half second
    noisy, quiet = make_org("Noisy"), make_org("Quiet")
    agent = register_agent(client, noisy, capabilities=["document.read"])
    path = f"/keys-{uuid.uuid4().hex[:6]}.json"
    uri = server.drip(path, every=0.5)
    pool = ThreadPoolExecutor(1)
    try:
        slow = pool.submit(_slow_key_calls(client, noisy, agent.agent_id, uri)[call])
        server.wait_for_request(path)
        # When org B writes meanwhile
        answer = client.post(
            f"{quiet.api}/approvers", json={"email": "b@quiet.example"}, headers=quiet.admin
        )
        # Then it is answered while A's fetch is still going (not after it, as under the lock)
        assert answer.status_code == 201, answer.text
        assert not slow.done(), "org B's write waited for org A's key fetch"
        assert slow.result(timeout=60).status_code < 500
    finally:
        pool.shutdown(wait=False)


@pytest.mark.parametrize(
    "path",
    [
        "/orgs/{org}/api/v1/policies/a%00b",
        "/orgs/{org}/api/v1/approvers/a%00b",
        "/orgs/{org}/api/v1/audit?actor=%00",
        "/orgs/{org}/.well-known/oauth-protected-resource/resources/a%00b",
        "/admin/tokens/%00/revoke",
    ],
)
def test_nul_in_a_url_is_a_400_not_a_500(client, org, path):
    answer = client.get(path.format(org=org.org_id), headers=org.admin)
    assert answer.status_code == 400
    if path.startswith("/admin"):  # a page people read
        assert "text/html" in answer.headers["content-type"]
    else:
        assert answer.json()["error"] == "invalid_request"


def test_nul_in_a_json_body_is_a_422(client, org):
    answer = client.post(
        f"{org.api}/approvers", json={"email": "n@x.example", "name": "a\x00b"}, headers=org.admin
    )
    assert answer.status_code == 422


def test_a_forged_bearer_whose_audience_holds_nul_is_refused_not_a_500(client, org):
    forged = jwt.encode(
        {"sub": "agt_x", "aud": "https://a\x00b", "exp": 9999999999},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
    )
    answer = client.get(
        f"{org.api}/jit/requests/jit_x", headers={"Authorization": f"Bearer {forged}"}
    )
    assert answer.status_code == 401


def test_a_label_with_control_characters_is_refused(client, org):
    from app.core.db import session_scope
    from app.core.errors import RuleViolation
    from app.identity.orgs import create_admin_token

    with pytest.raises(RuleViolation), session_scope() as session:
        create_admin_token(session, org_id=org.org_id, label="a\x00b")


@pytest.mark.parametrize(
    ("sent", "expected", "same"),
    [
        (True, True, True),
        (1, True, False),
        (1.0, 1, False),
        ("1", 1, False),
        ({"a": 1}, {"a": 1}, True),
    ],
)
def test_federation_claims_match_as_json_values(sent, expected, same):
    assert _same(sent, expected) is same


def test_a_decision_note_with_nul_is_refused_on_every_channel(client, org, agent):
    from app.core.db import session_scope
    from app.core.errors import RuleViolation
    from app.jit import state_machine
    from app.models import Approver
    from tests.jit.conftest import Jit

    jit = Jit(client, org)
    alice = jit.approver("nul-alice")
    jit.policy([alice])
    request_id = jit.pending(agent)["request_id"]
    with pytest.raises(RuleViolation), session_scope() as session:
        approver = session.get(Approver, alice.approver_id)
        state_machine.decide(
            session,
            request_id=request_id,
            approver=approver,
            decision="deny",
            comment="a\x00b",
            channel="dashboard",
        )
    assert jit.get(request_id, org.admin)["status"] == "pending"


@pytest.mark.parametrize("seq", [10**30, -1, 0, "1", 1.5])
def test_a_forged_audit_cursor_is_a_400(client, org, seq):
    from app.http.pagination import encode_cursor

    answer = client.get(
        f"{org.api}/audit", params={"cursor": encode_cursor(seq)}, headers=org.admin
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"

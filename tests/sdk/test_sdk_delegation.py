"""AgentAuth.for_user against a real server: tokens that act for a user (RFC 8693)."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from jitgate import AgentAuth, InvalidRequest, SyncAgentAuth
from jitgate.demo import Admin, setup_agent

ALICE = "alice@acme.com"
AUDIENCE = "https://jitgate.acme.example"
CAPABILITIES = ["delegation.act", "document.read", "document.summarize"]


class SignIn:
    """The org's sign-in service: ES256 ID tokens, trusted with an inline JWKS."""

    def __init__(self, admin: Admin) -> None:
        self.issuer = f"https://login-{uuid.uuid4().hex[:8]}.acme.example"
        self.key = generate_private_key(SECP256R1())
        self.kid = "idp-" + uuid.uuid4().hex[:8]
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        admin.call(
            "POST",
            "trusted-issuers",
            json={
                "issuer": self.issuer,
                "kind": "user",
                "audiences": [AUDIENCE],
                "jwks": {"keys": [{**jwk, "kid": self.kid, "alg": "ES256"}]},
                "subject_claim": "email",
            },
        )

    def id_token(self, email: str = ALICE, lifetime: int = 3600) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "00u1", "email": email, "aud": AUDIENCE}
        claims["email_verified"] = True  # subject_claim email: only a vouched-for address
        claims |= {"iat": now, "exp": now + lifetime}
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})


@pytest.fixture
def sign_in(live_admin: Admin) -> SignIn:
    return SignIn(live_admin)


def agent_auth(live_server, live_admin, name: str) -> SyncAgentAuth:
    agent = setup_agent(live_admin, capabilities=CAPABILITIES, jit_permissions=(), name=name)
    return SyncAgentAuth(
        live_server.base_url, live_server.org_id, agent.agent_id, agent.private_key_pem
    )


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_for_user_tokens_act_for_the_user_and_are_cached(live_server, live_admin, sign_in):
    planner = agent_auth(live_server, live_admin, f"planner-{uuid.uuid4().hex[:6]}")
    for_alice = planner.for_user(sign_in.id_token(), scope="document.read")
    token = for_alice.get_access_token()
    assert claims(token)["sub"] == ALICE
    assert claims(token)["act"]["sub"] == planner.agent_id
    assert claims(token)["scope"] == "document.read"
    assert for_alice.get_access_token() == token  # cached until near expiry
    decision = for_alice.check("document.read")
    assert decision["allowed"] is True and decision["on_behalf_of"] == ALICE
    # the agent's own client is untouched
    assert "act" not in claims(planner.get_access_token())


def test_a_delegated_token_is_handed_on_to_the_next_agent(live_server, live_admin, sign_in):
    planner = agent_auth(live_server, live_admin, f"planner-{uuid.uuid4().hex[:6]}")
    mailer = agent_auth(live_server, live_admin, f"mailer-{uuid.uuid4().hex[:6]}")
    handed_on = planner.for_user(sign_in.id_token()).get_access_token()
    token = mailer.for_user(handed_on, scope="document.summarize").get_access_token()
    act = claims(token)["act"]
    assert act["sub"] == mailer.agent_id and act["act"]["sub"] == planner.agent_id


def test_async_for_user_and_a_refused_subject(live_server, live_admin, sign_in):
    sync = agent_auth(live_server, live_admin, f"planner-{uuid.uuid4().hex[:6]}")
    auth = AgentAuth.from_credentials(sync.credentials)

    async def run() -> tuple[str, Exception | None]:
        token = await auth.for_user(sign_in.id_token).get_access_token()
        try:
            await auth.for_user(sign_in.id_token(lifetime=-600)).get_access_token()
        except InvalidRequest as exc:
            return token, exc
        return token, None

    token, refused = asyncio.run(run())
    assert claims(token)["sub"] == ALICE
    assert refused is not None and "exp" in str(refused)

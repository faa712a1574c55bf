"""AgentAuth.from_workload_token end to end: a real jitgate server (its own process), a
Kubernetes- and a GitHub-shaped issuer serving their JWKS over loopback HTTP with keys made
here, the org's trust and federation rule made through the admin API."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as rsa_key

from jitgate import AgentAuth, InvalidRequest, SyncAgentAuth, WorkloadTokenUnavailable
from jitgate.demo import Admin
from jitgate.resource import TokenVerifier
from jitgate.workload import TOKEN_EXCHANGE_GRANT
from tests.federation.conftest import Platform
from tests.local_http import LocalServer, local_server

SERVICE_ACCOUNT = "system:serviceaccount:payments:invoice-bot"


@pytest.fixture(scope="module")
def issuer_host() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


def serve(host: LocalServer, platform: Platform) -> Platform:
    body = json.dumps({"keys": [platform.public_jwk()]})
    platform.jwks_uri = host.answer(platform.jwks_uri, body)
    return platform


@pytest.fixture
def cluster(issuer_host: LocalServer) -> Platform:
    """A cluster's service-account issuer; each test gets its own URL, so orgs never collide."""
    name = uuid.uuid4().hex[:8]
    pod = {"name": f"invoice-bot-{name}", "uid": str(uuid.uuid4())}
    claims = {"sub": SERVICE_ACCOUNT, "kubernetes.io": {"namespace": "payments", "pod": pod}}
    return serve(
        issuer_host,
        Platform(
            issuer=f"https://{name}.cluster.example",
            private_key=generate_private_key(SECP256R1()),
            alg="ES256",
            kid=f"k8s-{name}",
            jwks_uri=f"/{name}/openid/v1/jwks",
            audience="https://jitgate.example",
            base_claims=claims,
        ),
    )


@pytest.fixture
def bot(live_admin: Admin) -> dict:
    from jitgate import generate_key

    name = f"invoice-bot-{uuid.uuid4().hex[:6]}"
    return live_admin.register_agent(name, ["document.read", "invoices.send"], generate_key()[1])


def trust_and_federate(admin: Admin, platform: Platform, agent_id: str, **claims) -> dict:
    body = {
        "issuer": platform.issuer,
        "kind": "workload",
        "audiences": [platform.audience],
        "jwks_uri": platform.jwks_uri,
    }
    issuer = admin.call("POST", "trusted-issuers", json=body)
    rule = {"issuer_id": issuer["issuer_id"], "subject": platform.base_claims["sub"]}
    return admin.call("POST", f"agents/{agent_id}/federation", json=rule | {"claims": claims})


class Recorder:
    """httpx event hook: the platform tokens the client sent to the token endpoint."""

    def __init__(self) -> None:
        self.subject_tokens: list[str] = []

    def __call__(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/oauth/token"):
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == [TOKEN_EXCHANGE_GRANT]
            self.subject_tokens.append(form["subject_token"][0])


def test_pod_federates_and_picks_up_its_rotated_token(
    live_server, live_admin, cluster, bot, tmp_path
):
    # given a rule binding the cluster's service account to the agent
    trust_and_federate(live_admin, cluster, bot["agent_id"])
    # and the pod's projected token on disk
    path = tmp_path / "token"
    first = cluster.token()
    path.write_text(first)
    recorder = Recorder()
    http = httpx.Client(event_hooks={"request": [recorder]})
    auth = SyncAgentAuth.from_workload_token(
        path, base_url=live_server.base_url, org_id=live_server.org_id, http_client=http
    )
    # when the agent works, it holds the agent's own token, marked as federated
    assert auth.check("document.read")["allowed"] is True
    verifier = TokenVerifier(f"{live_server.base_url}/orgs/{live_server.org_id}")
    verified = verifier.verify(auth.get_access_token())
    assert verified.subject == bot["agent_id"]
    assert verified.federated == {"iss": cluster.issuer, "sub": SERVICE_ACCOUNT}
    # and a second call reuses the cached access token (one exchange so far)
    assert auth.check("invoices.send")["allowed"] is True
    assert recorder.subject_tokens == [first]
    # when the kubelet rotates the token and the agent needs a new access token
    rotated = cluster.token()
    path.write_text(rotated)
    narrow = auth.get_access_token(["document.read"])
    # then the rotated platform token was the one exchanged, and the server accepted it
    assert recorder.subject_tokens == [first, rotated]
    assert verifier.verify(narrow).scopes == ("document.read",)


def test_github_job_federates_with_the_async_client_and_a_callable(
    live_server, live_admin, issuer_host, bot, rsa_private_key
):
    name = uuid.uuid4().hex[:8]
    github = serve(
        issuer_host,
        Platform(
            issuer=f"https://token.actions.{name}.example",
            private_key=rsa_private_key,
            alg="RS256",
            kid=f"gh-{name}",
            jwks_uri=f"/{name}/.well-known/jwks",
            audience="jitgate",
            base_claims={
                "sub": "repo:acme/invoices:ref:refs/heads/main",
                "repository": "acme/invoices",
                "ref": "refs/heads/main",
            },
        ),
    )
    trust_and_federate(live_admin, github, bot["agent_id"], repository="acme/invoices")
    # ACTIONS_ID_TOKEN_REQUEST_URL is fetched by a callable in a real job; here: a fresh token
    auth = AgentAuth.from_workload_token(
        github.token, base_url=live_server.base_url, org_id=live_server.org_id
    )

    async def work() -> dict:
        try:
            return await auth.check("invoices.send")
        finally:
            await auth.aclose()

    assert asyncio.run(work())["allowed"] is True


@pytest.fixture(scope="module")
def rsa_private_key():
    return rsa_key(public_exponent=65537, key_size=2048)


def test_platform_token_without_a_rule_is_refused_by_the_server_naming_the_rule(
    live_server, live_admin, cluster, bot, tmp_path
):
    trust_and_federate(live_admin, cluster, bot["agent_id"])
    path = tmp_path / "token"
    path.write_text(cluster.token(sub="system:serviceaccount:payments:someone-else"))
    auth = SyncAgentAuth.from_workload_token(
        path, base_url=live_server.base_url, org_id=live_server.org_id
    )
    with pytest.raises(InvalidRequest, match=r"\(federation\): no federation rule matches"):
        auth.get_access_token()


def test_deleted_rule_stops_the_next_exchange(live_server, live_admin, cluster, bot, tmp_path):
    rule = trust_and_federate(live_admin, cluster, bot["agent_id"])
    path = tmp_path / "token"
    path.write_text(cluster.token())
    auth = SyncAgentAuth.from_workload_token(
        path, base_url=live_server.base_url, org_id=live_server.org_id
    )
    auth.get_access_token()
    live_admin.http.delete(
        live_admin.endpoints.url(f"agents/{bot['agent_id']}/federation/{rule['rule_id']}"),
        headers=live_admin.headers,
    ).raise_for_status()
    with pytest.raises(InvalidRequest, match=r"\(federation\)"):
        auth.get_access_token(["document.read"])


def test_missing_token_file_is_reported_before_anything_reaches_the_server(live_server, tmp_path):
    recorder = Recorder()
    auth = SyncAgentAuth.from_workload_token(
        tmp_path / "not-mounted",
        base_url=live_server.base_url,
        org_id=live_server.org_id,
        http_client=httpx.Client(event_hooks={"request": [recorder]}),
    )
    with pytest.raises(WorkloadTokenUnavailable, match="not-mounted"):
        auth.check("document.read")
    assert recorder.subject_tokens == []


def test_a_workload_client_acts_for_a_user_with_its_own_federated_token(
    live_server, live_admin, cluster, tmp_path
):
    """for_user on a keyless client: the server accepts the workload's own token as the actor."""
    from jitgate import generate_key
    from tests.sdk.test_sdk_delegation import ALICE, SignIn

    name = f"planner-{uuid.uuid4().hex[:6]}"
    planner = live_admin.register_agent(
        name, ["delegation.act", "document.read"], generate_key()[1]
    )
    trust_and_federate(live_admin, cluster, planner["agent_id"])
    sign_in = SignIn(live_admin)
    path = tmp_path / "token"
    path.write_text(cluster.token())
    auth = SyncAgentAuth.from_workload_token(
        path, base_url=live_server.base_url, org_id=live_server.org_id
    )
    for_alice = auth.for_user(sign_in.id_token(), scope="document.read")
    verifier = TokenVerifier(f"{live_server.base_url}/orgs/{live_server.org_id}")
    claims = jwt_claims(for_alice.get_access_token())
    assert claims["sub"] == ALICE
    assert claims["act"]["sub"] == planner["agent_id"]
    assert verifier.verify(for_alice.get_access_token()).scopes == ("document.read",)
    decision = for_alice.check("document.read")
    assert decision["allowed"] is True and decision["on_behalf_of"] == ALICE

    async def run() -> str:
        async_auth = AgentAuth.from_workload_token(
            path, base_url=live_server.base_url, org_id=live_server.org_id
        )
        try:
            return await async_auth.for_user(sign_in.id_token()).get_access_token()
        finally:
            await async_auth.aclose()

    assert jwt_claims(asyncio.run(run()))["act"]["sub"] == planner["agent_id"]


def jwt_claims(token: str) -> dict:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})

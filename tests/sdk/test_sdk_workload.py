"""AgentAuth.from_workload_token without a server: what is sent to the token endpoint, when the
platform token is read, and the errors for a token that is not there. (The same client against
the real server and a local issuer: test_sdk_workload_live.py.)"""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import parse_qs

import httpx
import pytest

from jitgate import AgentAuth, SyncAgentAuth, WorkloadTokenUnavailable
from jitgate.workload import JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT

BASE = "https://jitgate.test"
ORG = "org_test"
TOKEN_URL = f"{BASE}/orgs/{ORG}/api/v1/oauth/token"


class TokenEndpoint:
    """Records every token request's form; answers a fresh opaque token of the given lifetime."""

    def __init__(self, ttl: int = 900) -> None:
        self.ttl = ttl
        self.forms: list[dict[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == TOKEN_URL
        assert "authorization" not in request.headers  # the platform token is the credential
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.forms.append(form)
        body = {"access_token": secrets.token_hex(8), "expires_in": self.ttl, "scope": ""}
        return httpx.Response(200, json=body | {"token_type": "Bearer"})

    @property
    def subject_tokens(self) -> list[str]:
        return [f["subject_token"] for f in self.forms]


def sync_client(endpoint: TokenEndpoint, source) -> SyncAgentAuth:
    http = httpx.Client(transport=httpx.MockTransport(endpoint.handle))
    return SyncAgentAuth.from_workload_token(source, base_url=BASE, org_id=ORG, http_client=http)


@pytest.fixture
def endpoint() -> TokenEndpoint:
    return TokenEndpoint()


# --- a token that is not there ---------------------------------------------------------------


def test_missing_token_file_is_a_clear_error_and_nothing_is_sent(endpoint, tmp_path):
    path = tmp_path / "token"
    auth = sync_client(endpoint, path)
    with pytest.raises(WorkloadTokenUnavailable, match=f"no workload token at {path}"):
        auth.get_access_token()
    assert endpoint.forms == []


@pytest.mark.parametrize("content", ["", "  \n"])
def test_empty_token_file_is_a_clear_error(endpoint, tmp_path, content):
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(WorkloadTokenUnavailable, match="gave no token"):
        sync_client(endpoint, path).get_access_token()
    assert endpoint.forms == []


def test_a_file_far_larger_than_a_token_is_refused(endpoint, tmp_path):
    path = tmp_path / "token"
    path.write_text("x" * (70 * 1024))
    with pytest.raises(WorkloadTokenUnavailable, match="larger than a token"):
        sync_client(endpoint, path).get_access_token()


def test_a_failing_or_empty_token_callable_is_a_clear_error(endpoint):
    def broken() -> str:
        raise OSError("metadata server unreachable")

    with pytest.raises(WorkloadTokenUnavailable, match="metadata server unreachable"):
        sync_client(endpoint, broken).get_access_token()
    with pytest.raises(WorkloadTokenUnavailable, match="gave no token"):
        sync_client(endpoint, lambda: "").get_access_token()
    assert endpoint.forms == []


def test_a_source_that_is_neither_a_path_nor_a_callable_is_refused_at_once():
    with pytest.raises(TypeError, match="file path or a callable"):
        AgentAuth.from_workload_token(b"eyJ...", base_url=BASE, org_id=ORG)  # type: ignore[arg-type]


# --- the exchange ----------------------------------------------------------------------------


def test_exchange_sends_the_platform_token_as_an_rfc8693_subject_token(endpoint, tmp_path):
    path = tmp_path / "token"
    path.write_text("platform.jwt.one\n")  # kubelet writes no newline; editors do
    auth = sync_client(endpoint, path)
    auth.get_access_token(["document.read"], resource="https://api.example")
    (form,) = endpoint.forms
    assert form == {
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": "platform.jwt.one",
        "subject_token_type": JWT_TOKEN_TYPE,
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "document.read",
        "resource": "https://api.example",
    }
    assert "client_assertion" not in form and auth.agent_id is None


def test_rotated_file_is_read_again_at_the_next_exchange(endpoint, tmp_path):
    # given a projected token the platform rewrites in place
    path = tmp_path / "token"
    path.write_text("platform.jwt.one")
    auth = sync_client(endpoint, path)
    first = auth.get_access_token()
    # when it is rotated, the cached access token is still used (no exchange)
    path.write_text("platform.jwt.two")
    assert auth.get_access_token() == first
    # and the next exchange (another scope here) sends the new platform token
    auth.get_access_token(["document.read"])
    assert endpoint.subject_tokens == ["platform.jwt.one", "platform.jwt.two"]


def test_access_token_near_expiry_is_exchanged_again_with_the_current_file(tmp_path):
    endpoint = TokenEndpoint(ttl=20)  # inside the SDK's 30 s refresh margin at once
    path = tmp_path / "token"
    path.write_text("platform.jwt.one")
    auth = sync_client(endpoint, path)
    auth.get_access_token()
    path.write_text("platform.jwt.two")
    auth.get_access_token()
    assert endpoint.subject_tokens == ["platform.jwt.one", "platform.jwt.two"]


def test_a_file_deleted_after_the_first_exchange_fails_only_when_a_new_token_is_needed(
    endpoint, tmp_path
):
    path = tmp_path / "token"
    path.write_text("platform.jwt.one")
    auth = sync_client(endpoint, path)
    token = auth.get_access_token()
    path.unlink()
    assert auth.get_access_token() == token  # cached
    with pytest.raises(WorkloadTokenUnavailable, match="file missing"):
        auth.get_access_token(["document.read"])


def test_callable_source_is_called_for_every_exchange_by_the_async_client(endpoint):
    handed_out = iter(["platform.jwt.one", "platform.jwt.two"])
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint.handle))
    auth = AgentAuth.from_workload_token(
        lambda: next(handed_out), base_url=BASE, org_id=ORG, agent_id="agt_x", http_client=http
    )

    async def two_scopes() -> None:
        await auth.get_access_token()
        await auth.get_access_token()  # cached: the source is not called
        await auth.get_access_token(["document.read"])

    asyncio.run(two_scopes())
    assert endpoint.subject_tokens == ["platform.jwt.one", "platform.jwt.two"]
    assert auth.agent_id == "agt_x"


def test_sync_twin_and_from_env_keep_federating(endpoint, tmp_path, monkeypatch):
    path = tmp_path / "token"
    path.write_text("platform.jwt.env")
    monkeypatch.setenv("JITGATE_URL", BASE)
    monkeypatch.setenv("JITGATE_ORG_ID", ORG)
    monkeypatch.setenv("JITGATE_WORKLOAD_TOKEN_FILE", str(path))
    monkeypatch.delenv("JITGATE_AGENT_PRIVATE_KEY", raising=False)
    auth = AgentAuth.from_env()
    twin = auth.sync
    twin._http = httpx.Client(transport=httpx.MockTransport(endpoint.handle))
    twin.get_access_token()
    assert endpoint.subject_tokens == ["platform.jwt.env"]


def test_from_env_with_a_token_file_but_no_org_is_a_configuration_error(tmp_path, monkeypatch):
    from jitgate import JitgateError

    monkeypatch.setenv("JITGATE_WORKLOAD_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("JITGATE_URL", BASE)
    monkeypatch.delenv("JITGATE_ORG_ID", raising=False)
    with pytest.raises(JitgateError, match="JITGATE_ORG_ID"):
        SyncAgentAuth.from_env()


# --- the platform token only travels over https (or to this machine) ---------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://jitgate.test",
        "http://10.0.0.7:8000",
        "http://localhost.evil.example",
        "http://[::ffff:7f00:1]",  # IPv4-mapped: not ::1, and not loopback to every stack
        "ftp://jitgate.test",
        "https://",
        "jitgate.test",
    ],
)
def test_a_plain_http_url_off_this_machine_is_refused(base_url):
    from jitgate import JitgateError

    with pytest.raises(JitgateError, match="only sent over https") as refused:
        SyncAgentAuth.from_workload_token("/dev/null", base_url=base_url, org_id=ORG)
    assert refused.value.code == "configuration_error"
    with pytest.raises(JitgateError, match="only sent over https"):
        AgentAuth.from_workload_token("/dev/null", base_url=base_url, org_id=ORG)


def test_the_environment_is_held_to_the_same_rule(monkeypatch, tmp_path):
    from jitgate import JitgateError

    monkeypatch.setenv("JITGATE_WORKLOAD_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("JITGATE_URL", "http://jitgate.test")
    monkeypatch.setenv("JITGATE_ORG_ID", ORG)
    with pytest.raises(JitgateError, match="only sent over https"):
        SyncAgentAuth.from_env()


@pytest.mark.parametrize(
    "base_url",
    [
        "https://jitgate.test",
        "http://127.0.0.1:8000",
        "http://127.8.9.10",
        "http://[::1]:8000",
        "http://localhost:8000",
        "http://LOCALHOST",
    ],
)
def test_https_or_loopback_is_accepted(base_url):
    auth = SyncAgentAuth.from_workload_token("/dev/null", base_url=base_url, org_id=ORG)
    assert auth.endpoints.token_url.startswith(base_url.rstrip("/"))


# --- acting for a user: the workload's own token is the actor (RFC 8693 §2.1) ---------------------


def test_for_user_on_a_workload_client_authenticates_the_actor_with_its_own_token(endpoint):
    auth = sync_client(endpoint, lambda: "platform.jwt.token")
    delegated = auth.for_user("user.id.token", scope="document.read")
    delegated._http = auth._http
    delegated.get_access_token()
    own, exchange = endpoint.forms
    # first the agent's own token, federated with the platform token ...
    assert own["subject_token"] == "platform.jwt.token"
    assert "actor_token" not in own
    # ... then the user's token exchanged with that token as the actor
    assert exchange["grant_type"] == TOKEN_EXCHANGE_GRANT
    assert exchange["subject_token"] == "user.id.token"
    assert exchange["subject_token_type"] == JWT_TOKEN_TYPE
    assert exchange["actor_token"] == auth.get_access_token()
    assert exchange["actor_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert exchange["scope"] == "document.read"
    assert "platform.jwt.token" not in exchange.values()  # the platform token is not the actor


def test_async_for_user_on_a_workload_client_authenticates_the_actor(endpoint):
    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint.handle))
        auth = AgentAuth.from_workload_token(
            lambda: "platform.jwt.token", base_url=BASE, org_id=ORG, http_client=http
        )
        delegated = auth.for_user("user.id.token")
        delegated._http, delegated._owns_http = http, False
        await delegated.get_access_token()
        own, exchange = endpoint.forms
        assert exchange["actor_token"] == await auth.get_access_token()
        assert exchange["subject_token"] == "user.id.token"
        assert own["subject_token"] == "platform.jwt.token"
        await http.aclose()

    asyncio.run(run())

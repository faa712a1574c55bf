"""AgentAuth: the async agent client (tokens, decisions, JIT approvals)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import httpx

from jitgate import _protocol as proto
from jitgate import delegation
from jitgate._protocol import AccessToken, Approval, Credentials, ScopeKey
from jitgate.errors import JitgateError, JitTimeout
from jitgate.workload import (
    AnyCredentials,
    TokenSource,
    WorkloadCredentials,
    credentials_from_env,
)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=proto.MAX_WAIT + 15.0)


class AgentAuth:
    """An agent's identity on one jitgate org. Methods are coroutines; `.sync` is the twin."""

    def __init__(
        self,
        base_url: str,
        org_id: str,
        agent_id: str,
        private_key_pem: str | bytes,
        *,
        kid: str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        creds = Credentials.create(base_url, org_id, agent_id, private_key_pem, kid)
        self._setup(creds, http_client)

    def _setup(self, credentials: AnyCredentials, http_client: httpx.AsyncClient | None) -> None:
        self.credentials = credentials
        self._http = http_client
        self._tokens: dict[ScopeKey, AccessToken] = {}
        self._form: Any = proto.token_form  # for_user swaps in the delegation exchange
        self._delegation: tuple[Any, Any, str | None] | None = None  # for_user's arguments
        self._locks: dict[ScopeKey, asyncio.Lock] = {}
        self._sync: Any = None
        self._owns_http = http_client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_credentials(
        cls, credentials: AnyCredentials, http_client: httpx.AsyncClient | None = None
    ) -> AgentAuth:
        auth = cls.__new__(cls)
        auth._setup(credentials, http_client)
        return auth

    @classmethod
    def from_env(cls, http_client: httpx.AsyncClient | None = None) -> AgentAuth:
        """Read JITGATE_URL, JITGATE_ORG_ID, JITGATE_AGENT_ID, JITGATE_AGENT_PRIVATE_KEY; or,
        with JITGATE_WORKLOAD_TOKEN_FILE set, federate with that platform token instead."""
        credentials = credentials_from_env() or Credentials.from_env()
        return cls.from_credentials(credentials, http_client)

    @classmethod
    def from_workload_token(
        cls,
        source: TokenSource,
        *,
        base_url: str,
        org_id: str,
        agent_id: str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> AgentAuth:
        """A client that federates: it trades the platform's identity token (a file path, such
        as Kubernetes' projected service-account token, or a callable returning the token) for
        the agent's access token, per the org's federation rule, instead of signing assertions.

        The token is read again for every exchange, so a rotated file is picked up; access
        tokens are cached until shortly before they expire, as with a key.
        """
        credentials = WorkloadCredentials.create(base_url, org_id, source, agent_id)
        return cls.from_credentials(credentials, http_client)

    @property
    def agent_id(self) -> str | None:
        """The agent's id (None for a workload client built without one: the org's rule decides)."""
        return self.credentials.agent_id

    @property
    def endpoints(self) -> proto.Endpoints:
        return self.credentials.endpoints

    @property
    def sync(self) -> Any:
        """The synchronous twin, sharing these credentials (its own connection pool and cache)."""
        if self._sync is None:
            from jitgate._sync import SyncAgentAuth

            if self._delegation is not None:  # its own actor, fetched by a blocking twin
                subject, scope, token_type = self._delegation
                parent = SyncAgentAuth.from_credentials(self.credentials)
                self._sync = parent.for_user(subject, scope=scope, subject_token_type=token_type)
            else:
                self._sync = SyncAgentAuth.from_credentials(self.credentials)
                self._sync._form = self._form
        return self._sync

    def for_user(
        self,
        subject_token: str | Callable[[], str],
        *,
        scope: list[str] | str | None = None,
        subject_token_type: str | None = None,
    ) -> AgentAuth:
        """A client whose tokens act for a user (RFC 8693 delegation): `sub` the user, `act`
        this agent. subject_token is the user's token (or a callable returning the current
        one), or a delegated token handed on by the previous agent; scope narrows what the
        user's agent may do. Tokens are exchanged when first needed and cached until shortly
        before they expire, like this client's own."""
        auth = AgentAuth.from_credentials(self.credentials)
        auth._delegation = (subject_token, scope, subject_token_type)
        if isinstance(self.credentials, Credentials):
            auth._form = delegation.exchange_form(subject_token, scope, subject_token_type)
        else:  # a workload client has no key to sign with: it acts with its own federated token
            auth._form = delegation.async_exchange_form(
                subject_token, scope, subject_token_type, self.get_access_token
            )
        return auth

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AgentAuth:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Used from a new event loop (each asyncio.run): connections and locks from the old
            # one cannot be reused there.
            self._loop, self._locks = loop, {}
            if self._owns_http:
                self._http = None
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        return self._http

    async def get_access_token(
        self, capabilities: list[str] | str | None = None, resource: str | None = None
    ) -> str:
        """A cached access token for this scope; concurrent callers share one refresh."""
        key = proto.scope_key(capabilities, resource)
        cached = self._tokens.get(key)
        if cached is not None and cached.fresh():
            return cached.access_token
        client = self._client()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.fresh():
                return cached.access_token
            form = self._form(self.credentials, key)
            if inspect.isawaitable(form):  # a workload's delegation fetches its actor token
                form = await form
            response = await client.post(self.endpoints.token_url, data=form)
            token = proto.parse_token(response)
            self._tokens[key] = token
            return token.access_token

    def invalidate_tokens(self) -> None:
        self._tokens.clear()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        token = await self.get_access_token()
        headers = {"Authorization": f"Bearer {token}"}
        response = await self._client().request(
            method, self.endpoints.url(path), headers=headers, **kwargs
        )
        if response.status_code == 401:
            # The cached token may have been revoked or the server's keys rotated: retry once.
            self._tokens.pop(proto.scope_key(None, None), None)
            headers["Authorization"] = f"Bearer {await self.get_access_token()}"
            response = await self._client().request(
                method, self.endpoints.url(path), headers=headers, **kwargs
            )
        return proto.checked_json(response)

    async def ask(self, question: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Ask in plain words whether the agent may do something; fails closed server-side."""
        body: dict[str, Any] = {"question": question}
        if context is not None:
            body["context"] = context
        return await self._call("POST", "agents/ask", json=body)

    async def check(
        self, permission: str, resource: str | None = None, context: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"permission": permission}
        if resource is not None:
            body["resource"] = resource
        if context is not None:
            body["context"] = context
        return await self._call("POST", "authz/check", json=body)

    async def request_jit_permission(
        self,
        permission: str,
        justification: str,
        expires_in: str | int = "10m",
        operation: dict[str, Any] | None = None,
        wait: bool = True,
        timeout: float = 300,
        *,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        on_pending: Callable[[Approval], Any] | None = None,
    ) -> Approval:
        """Ask a human for one operation; wait (long-poll) for the decision unless wait=False."""
        body = proto.jit_body(
            permission, justification, expires_in, operation, idempotency_key, callback_url
        )
        approval = proto.parse_approval(await self._call("POST", "jit/requests", json=body))
        if on_pending is not None and approval.pending:
            outcome = on_pending(approval)  # e.g. tell the user where to approve
            if inspect.isawaitable(outcome):
                await outcome
        if not wait or approval.status in proto.TERMINAL and approval.status != "approved":
            return approval
        if approval.granted:
            return approval
        return await self.wait_for_approval(approval.request_id, timeout=timeout)

    async def get_jit_request(self, request_id: str, wait: int = 0) -> Approval:
        params = {"wait": str(min(max(wait, 0), proto.MAX_WAIT))}
        return proto.parse_approval(
            await self._call("GET", f"jit/requests/{request_id}", params=params)
        )

    async def wait_for_approval(self, request_id: str, timeout: float = 300) -> Approval:
        """Long-poll until the request leaves pending; reconnects on dropped connections."""
        deadline = time.monotonic() + timeout
        backoff = 0.5
        while True:
            try:
                approval = await self.get_jit_request(request_id, wait=proto.wait_seconds(deadline))
                backoff = 0.5
            except (httpx.TransportError, JitgateError) as exc:
                delay = proto.retry_delay(exc, backoff)
                if delay is None or time.monotonic() + delay >= deadline:
                    raise
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, 10.0)
                continue
            if approval.status != "pending" and (approval.status != "approved" or approval.granted):
                return approval
            if time.monotonic() >= deadline:
                raise JitTimeout(
                    f"no decision on {request_id} within {timeout:g}s", request_id=request_id
                )
            if approval.status == "approved":
                await asyncio.sleep(0.2)  # approved, token being minted: look again shortly

    async def cancel_jit_request(self, request_id: str) -> Approval:
        return proto.parse_approval(await self._call("POST", f"jit/requests/{request_id}/cancel"))

    async def consume_jit_token(
        self, token: str, permission: str, operation: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Redeem a JIT token once, on the resource server's behalf."""
        body: dict[str, Any] = {"token": token, "permission": permission}
        if operation is not None:
            body["operation"] = operation
        return await self._call("POST", "jit/tokens/consume", json=body)

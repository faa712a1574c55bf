"""SyncAgentAuth: the blocking twin of AgentAuth, for threads and synchronous frameworks."""

from __future__ import annotations

import threading
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


class SyncAgentAuth:
    """The same agent client as AgentAuth with blocking methods (safe to share between threads)."""

    def __init__(
        self,
        base_url: str,
        org_id: str,
        agent_id: str,
        private_key_pem: str | bytes,
        *,
        kid: str | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        creds = Credentials.create(base_url, org_id, agent_id, private_key_pem, kid)
        self._setup(creds, http_client)

    def _setup(self, credentials: AnyCredentials, http_client: httpx.Client | None) -> None:
        self.credentials = credentials
        self._http = http_client
        self._tokens: dict[ScopeKey, AccessToken] = {}
        self._form: Any = proto.token_form  # for_user swaps in the delegation exchange
        self._locks: dict[ScopeKey, threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def from_credentials(
        cls, credentials: AnyCredentials, http_client: httpx.Client | None = None
    ) -> SyncAgentAuth:
        auth = cls.__new__(cls)
        auth._setup(credentials, http_client)
        return auth

    @classmethod
    def from_env(cls, http_client: httpx.Client | None = None) -> SyncAgentAuth:
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
        http_client: httpx.Client | None = None,
    ) -> SyncAgentAuth:
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

    def for_user(
        self,
        subject_token: str | Callable[[], str],
        *,
        scope: list[str] | str | None = None,
        subject_token_type: str | None = None,
    ) -> SyncAgentAuth:
        """A client whose tokens act for a user (RFC 8693 delegation); see AgentAuth.for_user."""
        auth = SyncAgentAuth.from_credentials(self.credentials)
        # A workload client has no key to sign with: it acts with its own federated token.
        own = None if isinstance(self.credentials, Credentials) else self.get_access_token
        auth._form = delegation.exchange_form(subject_token, scope, subject_token_type, own)
        return auth

    @property
    def endpoints(self) -> proto.Endpoints:
        return self.credentials.endpoints

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> SyncAgentAuth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=DEFAULT_TIMEOUT)
        return self._http

    def get_access_token(
        self, capabilities: list[str] | str | None = None, resource: str | None = None
    ) -> str:
        """A cached access token for this scope; concurrent callers share one refresh."""
        key = proto.scope_key(capabilities, resource)
        cached = self._tokens.get(key)
        if cached is not None and cached.fresh():
            return cached.access_token
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.fresh():
                return cached.access_token
            form = self._form(self.credentials, key)
            response = self._client().post(self.endpoints.token_url, data=form)
            token = proto.parse_token(response)
            self._tokens[key] = token
            return token.access_token

    def invalidate_tokens(self) -> None:
        self._tokens.clear()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        token = self.get_access_token()
        headers = {"Authorization": f"Bearer {token}"}
        response = self._client().request(
            method, self.endpoints.url(path), headers=headers, **kwargs
        )
        if response.status_code == 401:
            # The cached token may have been revoked or the server's keys rotated: retry once.
            self._tokens.pop(proto.scope_key(None, None), None)
            headers["Authorization"] = f"Bearer {self.get_access_token()}"
            response = self._client().request(
                method, self.endpoints.url(path), headers=headers, **kwargs
            )
        return proto.checked_json(response)

    def ask(self, question: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Ask in plain words whether the agent may do something; fails closed server-side."""
        body: dict[str, Any] = {"question": question}
        if context is not None:
            body["context"] = context
        return self._call("POST", "agents/ask", json=body)

    def check(
        self, permission: str, resource: str | None = None, context: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"permission": permission}
        if resource is not None:
            body["resource"] = resource
        if context is not None:
            body["context"] = context
        return self._call("POST", "authz/check", json=body)

    def request_jit_permission(
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
        approval = proto.parse_approval(self._call("POST", "jit/requests", json=body))
        if on_pending is not None and approval.pending:
            on_pending(approval)  # e.g. tell the user where to approve
        if not wait or approval.status in proto.TERMINAL and approval.status != "approved":
            return approval
        if approval.granted:
            return approval
        return self.wait_for_approval(approval.request_id, timeout=timeout)

    def get_jit_request(self, request_id: str, wait: int = 0) -> Approval:
        params = {"wait": str(min(max(wait, 0), proto.MAX_WAIT))}
        return proto.parse_approval(self._call("GET", f"jit/requests/{request_id}", params=params))

    def wait_for_approval(self, request_id: str, timeout: float = 300) -> Approval:
        """Long-poll until the request leaves pending; reconnects on dropped connections."""
        deadline = time.monotonic() + timeout
        backoff = 0.5
        while True:
            try:
                approval = self.get_jit_request(request_id, wait=proto.wait_seconds(deadline))
                backoff = 0.5
            except (httpx.TransportError, JitgateError) as exc:
                delay = proto.retry_delay(exc, backoff)
                if delay is None or time.monotonic() + delay >= deadline:
                    raise
                time.sleep(delay)
                backoff = min(backoff * 2, 10.0)
                continue
            if approval.status != "pending" and (approval.status != "approved" or approval.granted):
                return approval
            if time.monotonic() >= deadline:
                raise JitTimeout(
                    f"no decision on {request_id} within {timeout:g}s", request_id=request_id
                )
            if approval.status == "approved":
                time.sleep(0.2)  # approved, token being minted: look again shortly

    def cancel_jit_request(self, request_id: str) -> Approval:
        return proto.parse_approval(self._call("POST", f"jit/requests/{request_id}/cancel"))

    def consume_jit_token(
        self, token: str, permission: str, operation: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Redeem a JIT token once, on the resource server's behalf."""
        body: dict[str, Any] = {"token": token, "permission": permission}
        if operation is not None:
            body["operation"] = operation
        return self._call("POST", "jit/tokens/consume", json=body)

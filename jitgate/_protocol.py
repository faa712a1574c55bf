"""The wire protocol shared by the async client and its synchronous twin (no I/O here)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from jitgate.assertion import JWT_BEARER_ASSERTION_TYPE, SigningKey, sign_assertion
from jitgate.errors import (
    JitgateError,
    JitTimeout,
    RateLimited,
    error_from_response,
    jit_error,
)

# Refresh a cached token this long before it expires, so it never dies in flight.
REFRESH_MARGIN = 30.0
MAX_WAIT = 60
TERMINAL = {"approved", "denied", "expired", "cancelled", "consumed", "revoked", "token_expired"}
RETRYABLE_STATUS = {502, 503, 504}

ScopeKey = tuple[tuple[str, ...] | None, str | None]


@dataclass(frozen=True)
class Endpoints:
    """Where an organization's routes live on a jitgate server."""

    base_url: str
    org_id: str

    @property
    def issuer(self) -> str:
        return f"{self.base_url.rstrip('/')}/orgs/{self.org_id}"

    @property
    def api(self) -> str:
        return f"{self.issuer}/api/v1"

    @property
    def token_url(self) -> str:
        return f"{self.api}/oauth/token"

    def url(self, path: str) -> str:
        return f"{self.api}/{path.lstrip('/')}"


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_at: float
    scope: tuple[str, ...]

    def fresh(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) < self.expires_at - REFRESH_MARGIN


@dataclass
class Approval:
    """A JIT request as the agent sees it; `granted` once a usable token is attached."""

    request_id: str
    status: str
    permission: str
    operation: dict[str, Any] | None = None
    token: str | None = None
    expires_at: datetime | None = None
    reason: str | None = None
    status_url: str | None = None
    events_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def granted(self) -> bool:
        return self.status == "approved" and self.token is not None

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def raise_for_status(self) -> Approval:
        """Return self when granted; otherwise raise JitDenied, JitExpired, ... (or JitTimeout)."""
        if self.granted:
            return self
        if self.pending:
            raise JitTimeout(
                f"JIT request {self.request_id} is still pending", request_id=self.request_id
            )
        raise jit_error(self.status, self.reason, self.request_id)


@dataclass(frozen=True)
class Credentials:
    base_url: str
    org_id: str
    agent_id: str
    signing_key: SigningKey

    @classmethod
    def create(
        cls,
        base_url: str,
        org_id: str,
        agent_id: str,
        private_key_pem: str | bytes,
        kid: str | None = None,
    ) -> Credentials:
        return cls(
            base_url.rstrip("/"), org_id, agent_id, SigningKey.from_pem(private_key_pem, kid)
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        missing = [name for name in ENV_NAMES if not env.get(name)]
        if missing:
            raise JitgateError(
                f"missing environment variables: {', '.join(missing)}", code="configuration_error"
            )
        pem = env["JITGATE_AGENT_PRIVATE_KEY"]
        if not pem.lstrip().startswith("-----") and os.path.exists(pem):
            with open(pem, "rb") as f:  # a path to the PEM file is accepted too
                pem = f.read().decode()
        return cls.create(
            env["JITGATE_URL"],
            env["JITGATE_ORG_ID"],
            env["JITGATE_AGENT_ID"],
            pem.replace("\\n", "\n"),
            env.get("JITGATE_AGENT_KEY_ID") or None,
        )

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.base_url, self.org_id)


ENV_NAMES = ("JITGATE_URL", "JITGATE_ORG_ID", "JITGATE_AGENT_ID", "JITGATE_AGENT_PRIVATE_KEY")


def scope_key(
    capabilities: list[str] | tuple[str, ...] | str | None, resource: str | None
) -> ScopeKey:
    if isinstance(capabilities, str):
        capabilities = capabilities.split()
    return (tuple(sorted(set(capabilities))) if capabilities is not None else None, resource)


class OtherGrant(Protocol):
    """Credentials that get tokens by another grant than a signed assertion (jitgate.workload)."""

    def token_form(self, key: ScopeKey) -> dict[str, str]: ...


def token_form(creds: Credentials | OtherGrant, key: ScopeKey) -> dict[str, str]:
    if not isinstance(creds, Credentials):
        return creds.token_form(key)
    assertion = sign_assertion(
        creds.signing_key, agent_id=creds.agent_id, audience=creds.endpoints.token_url
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    scopes, resource = key
    if scopes is not None:
        form["scope"] = " ".join(scopes)
    if resource is not None:
        form["resource"] = resource
    return form


def parse_token(response: httpx.Response) -> AccessToken:
    body = checked_json(response)
    expires_in = float(body.get("expires_in") or 0)
    return AccessToken(
        body["access_token"], time.time() + expires_in, tuple(str(body.get("scope") or "").split())
    )


def checked_json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise error_from_response(response)
    body = response.json()
    if not isinstance(body, dict):
        raise JitgateError(
            "unexpected response body", code="server_error", status=response.status_code
        )
    return body


def jit_body(
    permission: str,
    justification: str,
    expires_in: str | int,
    operation: dict[str, Any] | None,
    idempotency_key: str | None,
    callback_url: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "permission": permission,
        "justification": justification,
        "expires_in": expires_in,
    }
    if operation is not None:
        body["operation"] = operation
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def parse_approval(body: dict[str, Any]) -> Approval:
    token = body.get("token")
    access_token = token.get("access_token") if isinstance(token, dict) else None
    expires_at = _parse_time((token or {}).get("expires_at") if isinstance(token, dict) else None)
    reason = body.get("reason") or body.get("decision_reason")
    return Approval(
        request_id=body.get("request_id") or body.get("id") or "",
        status=body.get("status", "pending"),
        permission=body.get("permission", ""),
        operation=body.get("operation"),
        token=access_token,
        expires_at=expires_at or _parse_time(body.get("expires_at")),
        reason=reason if isinstance(reason, str) else None,
        status_url=body.get("status_url"),
        events_url=body.get("events_url"),
        raw=body,
    )


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        from datetime import UTC

        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def wait_seconds(deadline: float) -> int:
    return max(0, min(MAX_WAIT, int(deadline - time.monotonic())))


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, JitgateError) and (exc.status in RETRYABLE_STATUS)


def retry_delay(exc: BaseException, backoff: float) -> float | None:
    """Seconds to wait before polling again, or None when the error is final. A rate limit is
    waited out for as long as the server says (the agent's budget refills; its request stands)."""
    if isinstance(exc, RateLimited):
        return exc.retry_after if exc.retry_after is not None else backoff
    return backoff if is_retryable(exc) else None

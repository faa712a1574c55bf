"""The webhook channel: a JSON POST, signed with the org's Ed25519 key, for any other system.

`Jitgate-Signature` is a compact JWS (a JWT) whose claims bind the exact body bytes
(`body_sha256`), the receiving URL (`aud`), the org (`iss`), the event (`event`), a time (`iat`,
`exp`) and an id (`jti`), and whose `typ` says whether it is a webhook or an agent's callback.
Agents choose their callback URLs, so a receiver that checks neither `typ` nor `iss` could be
handed a callback as if it were a webhook. Receivers get the public key from
`/orgs/{org}/.well-known/jwks.json` by the header's `kid`; `verify_signature` shows the checks.
"""

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar, Self

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field

from app.core import org_signing, outbound
from app.core.org_signing import KeyLookup
from app.core.times import rfc3339
from app.core.validation import http_url
from app.settings import Settings, get_settings
from notifiers.base import (
    ChannelSettings,
    FormField,
    NotifierRejected,
    NotifierUnavailable,
    RequestView,
    Target,
)
from notifiers.formatting import outcome_event

SIGNATURE_HEADER = "Jitgate-Signature"
EVENT_HEADER = "Jitgate-Event"
# What a signature vouches for: a webhook (to a URL an org's admin configured) or a callback (to
# a URL an agent chose). Each has its own JOSE `typ`, so one is never taken for the other.
WEBHOOK = "webhook"
CALLBACK = "callback"
SIGNATURE_TYPES = {WEBHOOK: "jitgate-webhook+jwt", CALLBACK: "jitgate-callback+jwt"}
SIGNING_ALG = "EdDSA"
SIGNATURE_LIFETIME_SECONDS = 300
TIMEOUT_SECONDS = 5.0
CLOCK_LEEWAY_SECONDS = 30
EVENT_PENDING = "jit_request.pending"
EVENT_PREFIX = "jit_request."
EVENT_ID_FIELD = "event_id"


class WebhookSettings(ChannelSettings):
    """The policy's receiver; without one, JITGATE_WEBHOOK_URL's."""

    slug: ClassVar[str] = "webhook"
    form: ClassVar[dict[str, FormField]] = {"webhook_url": FormField("Webhook URL", "", "url")}
    webhook_url: str | None = Field(default=None, max_length=2048)

    def checked(self) -> Self:
        if self.webhook_url is not None:
            http_url(self.webhook_url, "webhook_url")  # refuses what the service must not call
        return self


class WebhookSignatureInvalid(ValueError):
    """The signature header does not vouch for this body at this URL now."""


def body_digest(body: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()


def sign_body(
    body: bytes,
    *,
    org_id: str,
    audience: str,
    kind: str,
    event: str,
    keys: KeyLookup | None = None,
    now: float | None = None,
) -> str:
    """The `Jitgate-Signature` value for body, a `kind` message about `event`, POSTed to audience,
    signed with the org's own key and naming the org's issuer. keys: the org key lookup
    (default: the one identity provides through app/core/org_signing.py)."""
    key = (keys or org_signing.signing_key)(org_id)
    iat = int(time.time() if now is None else now)
    claims = {
        "iss": key.issuer,
        "aud": audience,
        "event": event,
        "iat": iat,
        "exp": iat + SIGNATURE_LIFETIME_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "body_sha256": body_digest(body),
    }
    headers = {"kid": key.kid, "typ": SIGNATURE_TYPES[kind]}
    return jwt.encode(claims, key.private_key, algorithm=SIGNING_ALG, headers=headers)


def verify_signature(
    body: bytes,
    signature: str,
    *,
    issuer: str,
    audience: str,
    kind: str,
    public_key: Callable[[str], Ed25519PublicKey | None],
    event: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """What a receiver does: the kind it expects (`typ`), key by kid from its org's JWKS, EdDSA
    only, from its org (`iss`), for this URL (`aud`), fresh, for these bytes, and, given the
    `Jitgate-Event` header, for that event.

    issuer is `{public_url}/orgs/{org}`; public_key looks a kid up in that org's JWKS only. A
    receiver should also remember each `jti` until its `exp` and refuse a second delivery
    with the same one; retries of one event reuse its `event_id`, not its `jti`.
    """
    if kind not in SIGNATURE_TYPES:
        raise ValueError(f"kind is {WEBHOOK!r} or {CALLBACK!r}, not {kind!r}")
    claims = _verified_claims(
        signature, issuer=issuer, audience=audience, kind=kind, keys=public_key
    )
    current = time.time() if now is None else now
    if not claims["iat"] - CLOCK_LEEWAY_SECONDS <= current < claims["exp"]:
        raise WebhookSignatureInvalid("the signature is not valid at this time")
    if claims["body_sha256"] != body_digest(body):
        raise WebhookSignatureInvalid("the body was altered")
    if event is not None and claims["event"] != event:
        raise WebhookSignatureInvalid("the Jitgate-Event header is not the signed event")
    return claims


def _verified_claims(
    signature: str,
    *,
    issuer: str,
    audience: str,
    kind: str,
    keys: Callable[[str], Ed25519PublicKey | None],
) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(signature)
        if header.get("typ") != SIGNATURE_TYPES[kind]:
            raise WebhookSignatureInvalid(f"not a {kind} signature (typ {header.get('typ')!r})")
        key = keys(str(header.get("kid", "")))
        if key is None:
            raise WebhookSignatureInvalid("signed by a key that is not in this org's JWKS")
        return jwt.decode(
            signature,
            key,
            algorithms=[SIGNING_ALG],
            audience=audience,
            issuer=issuer,
            # Time is checked by the caller against `now`, so tests and receivers control the clock.
            options={
                "require": ["iss", "aud", "event", "iat", "exp", "jti", "body_sha256"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc


def _decisions(request: RequestView) -> list[dict[str, Any]]:
    return [
        {
            "approver_id": d.approver_id,
            "approver": d.approver_label,
            "decision": d.decision,
            "comment": d.comment,
            "channel": d.channel,
            "at": rfc3339(d.at),
        }
        for d in request.decisions
    ]


def _delegation(request: RequestView) -> dict[str, Any]:
    """A request made for a user (RFC 8693 delegation): the user, and the agents in order."""
    if request.on_behalf_of is None:
        return {}
    return {"on_behalf_of": request.on_behalf_of, "actor_names": list(request.actor_names)}


def event_body(request: RequestView, *, event: str, event_id: str) -> bytes:
    """The JSON document a receiver gets; approvers' addresses are deliberately left out."""
    document = {
        "event": event,
        "event_id": event_id,
        "request": {
            "request_id": request.request_id,
            "org_id": request.org_id,
            "agent_id": request.agent_id,
            "agent_name": request.agent_name,
            "permission": request.permission,
            "justification": request.justification,
            "operation": request.operation,
            "requested_ttl": request.requested_ttl,
            "status": request.status,
            "created_at": rfc3339(request.created_at),
            "pending_deadline": rfc3339(request.pending_deadline),
            "approvals_required": request.approvals_required,
            "decisions": _decisions(request),
            "decision_reason": request.decision_reason,
            **_delegation(request),
        },
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


_shared: httpx.Client | None = None


def shared_client() -> httpx.Client:
    """One pooled client per process (webhooks and callbacks): building a client, and its TLS
    context, for every POST cost more than the POST itself. httpx.Client is thread-safe.
    Internal addresses are refused outside development (app/core/outbound.py)."""
    global _shared
    if _shared is None:
        _shared = outbound.client(timeout=TIMEOUT_SECONDS)
    return _shared


class WebhookNotifier:
    slug: ClassVar[str] = "webhook"

    def __init__(
        self,
        settings: Settings | None = None,
        http: httpx.Client | None = None,
        keys: KeyLookup | None = None,
    ) -> None:
        self._settings = settings or get_settings()
        self._http = http
        self._keys = keys

    def targets(self, request: RequestView) -> list[Target]:
        url = WebhookSettings.of(request).webhook_url or self._settings.webhook_url
        return [Target(address=url)] if url else []

    def announce(self, request: RequestView, target: Target) -> dict[str, Any] | None:
        return self._deliver(request, target, EVENT_PENDING)

    def show_outcome(
        self, request: RequestView, target: Target, reference: dict[str, Any] | None
    ) -> None:
        self._deliver(request, target, outcome_event(request.status))

    def _deliver(self, request: RequestView, target: Target, event: str) -> dict[str, Any]:
        # The event id is stable per request and event, so a retried delivery can be deduplicated.
        event_id = f"{request.request_id}:{event}"
        body = event_body(request, event=event, event_id=event_id)
        signature = sign_body(
            body,
            org_id=request.org_id,
            audience=target.address,
            kind=WEBHOOK,
            event=event,
            keys=self._keys,
        )
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            SIGNATURE_HEADER: signature,
        }
        self._post(target.address, body, headers)
        return {EVENT_ID_FIELD: event_id}

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            with outbound.deadline(self._settings.delivery_deadline_seconds):
                response = (self._http or shared_client()).post(url, content=body, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise NotifierRejected(f"webhook: unusable URL ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            if outbound.refused_as_internal(exc):  # retrying would not change the answer
                raise NotifierRejected(f"webhook: {exc}") from exc
            raise NotifierUnavailable(f"webhook unreachable: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise NotifierUnavailable(f"webhook unreachable: {type(exc).__name__}") from exc
        _check_status(response.status_code)


def _check_status(status: int) -> None:
    """5xx, 429 and 408 are worth retrying; any other non-2xx (redirects included) is not."""
    if 200 <= status < 300:
        return
    if status >= 500 or status in (408, 429):
        raise NotifierUnavailable(f"webhook: HTTP {status}")
    raise NotifierRejected(f"webhook: HTTP {status}")

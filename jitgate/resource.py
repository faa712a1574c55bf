"""Resource-server helpers: verify jitgate access tokens offline and redeem JIT tokens once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from jitgate._protocol import checked_json
from jitgate.errors import AuthenticationFailed, Forbidden, JitgateError, TokenExpired

# Only the algorithms jitgate signs with; the token header never chooses.
ALLOWED_ALGORITHMS = ("EdDSA",)
ACCESS_TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"]
MAX_ACTORS = 3  # jitgate never issues a longer chain of agency


@dataclass(frozen=True)
class Actor:
    """One agent in a token's chain of agency (an RFC 8693 `act` object)."""

    subject: str  # the acting agent's id
    agent: str | None  # its name, as jitgate writes it
    claims: dict[str, Any]  # the whole object but its nested `act`


def actor_chain(claims: dict[str, Any]) -> tuple[Actor, ...]:
    """The actors of a delegated token, most recent first (RFC 8693 §4.1 nests earlier actors
    inside later ones); empty when the token is the agent's own. Raises ValueError on an `act`
    jitgate would never write: not an object, no string `sub`, more than MAX_ACTORS deep."""
    chain: list[Actor] = []
    holder = claims
    while "act" in holder:  # present means an object: `"act": null` is not one either
        act = holder["act"]
        if len(chain) == MAX_ACTORS:
            raise ValueError(f"more than {MAX_ACTORS} actors")
        if not isinstance(act, dict):
            raise ValueError("act is not an object")
        sub, agent = act.get("sub"), act.get("agent")
        if not isinstance(sub, str) or not sub:
            raise ValueError("an actor has no sub")
        if agent is not None and not isinstance(agent, str):
            raise ValueError("an actor's agent name is not a string")
        chain.append(Actor(sub, agent, {k: v for k, v in act.items() if k != "act"}))
        holder = act
    return tuple(chain)


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of an access token that passed every check."""

    claims: dict[str, Any]
    token: str = field(repr=False)
    actors: tuple[Actor, ...] = ()

    @property
    def subject(self) -> str:
        """`sub`: the agent for its own token, the user on whose behalf a delegated one acts."""
        return str(self.claims["sub"])

    @property
    def actor_chain(self) -> list[Actor]:
        """The agents acting for the subject, most recent (the caller) first; [] if none."""
        return list(self.actors)

    @property
    def on_behalf_of(self) -> str | None:
        """The user a delegated token acts for; None for an agent's own token."""
        return self.subject if self.actors else None

    @property
    def agent_id(self) -> str:
        """The agent presenting the token: the latest actor, or the subject itself."""
        return self.actors[0].subject if self.actors else self.subject

    @property
    def federated(self) -> dict[str, Any] | None:
        """`{iss, sub}` of the platform token a federated workload traded for this one."""
        value = self.claims.get("federated")
        return value if isinstance(value, dict) else None

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(str(self.claims.get("scope") or "").split())

    @property
    def jit(self) -> dict[str, Any] | None:
        value = self.claims.get("jit")
        return value if isinstance(value, dict) else None

    def has(self, permission: str) -> bool:
        return permission in self.scopes


class TokenVerifier:
    """Discovers an issuer's RFC 8414 metadata and JWKS, then verifies tokens without a call."""

    def __init__(
        self,
        issuer: str,
        *,
        audience: str | None = None,
        leeway: int = 30,
        jwks_cache_seconds: float = 300,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience or self.issuer
        self.leeway = leeway
        self.jwks_cache_seconds = jwks_cache_seconds
        self._http = http_client
        self._ahttp = async_http_client
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = 0.0

    # discovery -------------------------------------------------------------------------
    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=10.0)
        return self._http

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/oauth-authorization-server"
            metadata = checked_json(self._client().get(url))
            if metadata.get("issuer", "").rstrip("/") != self.issuer:
                raise JitgateError("metadata issuer does not match", code="invalid_issuer")
            self._metadata = metadata
        return self._metadata

    @property
    def consume_url(self) -> str:
        meta = self.metadata()
        return str(meta.get("jit_consume_endpoint") or f"{self.issuer}/api/v1/jit/tokens/consume")

    def _refresh_keys(self, force: bool = False) -> None:
        with self._lock:
            fresh = time.monotonic() - self._keys_at < self.jwks_cache_seconds
            # A forced refresh (unknown kid) still waits a little, so junk kids cannot flood us.
            if (fresh and not force) or (force and time.monotonic() - self._keys_at < 5):
                return
            jwks = checked_json(self._client().get(self.metadata()["jwks_uri"]))
            keys: dict[str, jwt.PyJWK] = {}
            for jwk in jwks.get("keys", []):
                if jwk.get("kid") and jwk.get("alg", "EdDSA") in ALLOWED_ALGORITHMS:
                    keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="EdDSA")
            self._keys, self._keys_at = keys, time.monotonic()

    def _key_for(self, kid: str) -> jwt.PyJWK:
        self._refresh_keys()
        if kid not in self._keys:
            self._refresh_keys(force=True)
        if kid not in self._keys:
            raise AuthenticationFailed("unknown signing key", code="invalid_token", status=401)
        return self._keys[kid]

    # verification ----------------------------------------------------------------------
    def verify(self, token: str, *, audience: str | None = None) -> VerifiedToken:
        """Check signature (EdDSA pinned), typ, iss, aud, exp/nbf; raise AuthenticationFailed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed("malformed token", code="invalid_token", status=401) from exc
        if str(header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYPE, "application/at+jwt"):
            raise AuthenticationFailed("not an access token", code="invalid_token", status=401)
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise AuthenticationFailed("algorithm not allowed", code="invalid_token", status=401)
        key = self._key_for(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=audience or self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("token expired", code="token_expired", status=401) from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(str(exc), code="invalid_token", status=401) from exc
        try:
            actors = actor_chain(claims)
        except ValueError as exc:
            # Signed by the issuer yet not its shape: trust none of it rather than a guess.
            message = f"malformed act claim: {exc}"
            raise AuthenticationFailed(message, code="invalid_token", status=401) from exc
        return VerifiedToken(claims=claims, token=token, actors=actors)

    def verify_permission(self, token: str, permission: str) -> VerifiedToken:
        verified = self.verify(token)
        if not verified.has(permission):
            raise Forbidden(f"token lacks {permission}", code="insufficient_scope", status=403)
        return verified

    def consume_jit(
        self, token: str, permission: str, operation: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Verify a JIT token offline, then redeem it with the issuer: succeeds exactly once."""
        verified = self.verify_permission(token, permission)
        if verified.jit is None:
            raise Forbidden("not a JIT token", code="invalid_token", status=403)
        body = _consume_body(token, permission, operation)
        return checked_json(
            self._client().post(self.consume_url, json=body, headers=_bearer(token))
        )

    async def aconsume_jit(
        self, token: str, permission: str, operation: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        verified = self.verify_permission(token, permission)
        if verified.jit is None:
            raise Forbidden("not a JIT token", code="invalid_token", status=403)
        if self._ahttp is None:
            self._ahttp = httpx.AsyncClient(timeout=10.0)
        body = _consume_body(token, permission, operation)
        response = await self._ahttp.post(self.consume_url, json=body, headers=_bearer(token))
        return checked_json(response)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


def _consume_body(token: str, permission: str, operation: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"token": token, "permission": permission}
    if operation is not None:
        body["operation"] = operation
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

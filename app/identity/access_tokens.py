"""Signing and offline verification of the access tokens this service issues (RFC 9068 style)."""

import base64
import binascii
import json
import time
from typing import Any

import jwt

from app.core import ed25519
from app.core.errors import TokenExpired, TokenRevoked, Unauthenticated
from app.core.ids import time_ordered_urlsafe
from app.core.kv import StoreUnavailable, get_store, redis_key
from app.core.org_signing import OrgSigningKey
from app.identity import count_leases
from app.identity.keys import SIGNING_ALG, key_ring
from app.settings import get_settings

ACCESS_TOKEN_TYP = "at+jwt"
_MAX_HEADERS = 1024  # parsed or written header segments kept: room for one key per busy org


def issuer_for(org_id: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/orgs/{org_id}"


def token_endpoint_for(org_id: str) -> str:
    return f"{issuer_for(org_id)}/api/v1/oauth/token"


def org_signing_key(org_id: str) -> OrgSigningKey:
    """The lookup app/core/org_signing.py hands to webhook and callback signers."""
    key = key_ring.active(org_id)
    return OrgSigningKey(kid=key.kid, private_key=key.private_key, issuer=issuer_for(org_id))


def new_jti() -> str:
    """24 characters, as before: the time in milliseconds, then 96 random bits. Time-ordered
    so that the token records' primary key index appends: with random jtis every batch of
    records wrote a random page of that index per token (in SQLite with 50,000 records,
    ~15 µs of the row writer's CPU a token)."""
    return time_ordered_urlsafe(12)


# What jwt.encode writes, without its per-call work (a new JSON encoder, header validation, a
# key check): the compact JSON it signs, and one header segment per signing key. The output is
# byte for byte PyJWT's (tests/oauth/test_token_signing.py); Ed25519 is deterministic.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
_SORTED_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
_header_segments: dict[str, bytes] = {}


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _header_segment(kid: str) -> bytes:
    segment = _header_segments.get(kid)
    if segment is None:
        header = {"alg": SIGNING_ALG, "kid": kid, "typ": ACCESS_TOKEN_TYP}
        segment = _b64(_SORTED_JSON.encode(header).encode())
        if len(_header_segments) >= _MAX_HEADERS:
            _header_segments.clear()
        _header_segments[kid] = segment
    return segment


def sign(claims: dict[str, Any]) -> str:
    """Sign with the key of the org the token is for (its `org` claim): a compact EdDSA JWS."""
    key = key_ring.active(claims["org"])
    signing_input = _header_segment(key.kid) + b"." + _b64(_COMPACT_JSON.encode(claims).encode())
    signature = ed25519.sign(key.secret, signing_input)  # key.private_key.sign's bytes
    return (signing_input + b"." + _b64(signature)).decode("ascii")


def same_status_epoch(claims: dict[str, Any], agent_epoch: int) -> bool:
    """False for a token issued before the agent's latest suspension (tokens signed before
    status epochs existed carry none: epoch 0)."""
    return claims.get("status_epoch", 0) == agent_epoch


def unverified_claims(token: str) -> dict[str, Any]:
    """The token's claims without checking anything ({} when it is no JWT): for the callers
    that then look the token up themselves (revocation) or check what they read."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


def any_audience(token: str) -> str | None:
    """The token's own aud, unverified: introspection and JIT redemption accept tokens for any
    audience of this issuer (resource tokens too), and then check the audience themselves."""
    aud = unverified_claims(token).get("aud")
    return aud if isinstance(aud, str) else None


def revoked_key(jti: str) -> str:
    return f"revoked:{jti}"


def mark_revoked(jti: str, ttl_seconds: int) -> None:
    try:
        get_store().put(revoked_key(jti), ttl_seconds + get_settings().clock_leeway)
    finally:  # even when the list is unreachable (a JIT token's revocation goes on without it)
        count_leases.forget(jti)  # this process's reservation for it admits nothing more


# Every token one signing key issues has the same header segment: parse each one once. Bounded,
# so a caller sending many distinct headers only empties it; room for one key per busy org.
_headers: dict[str, dict[str, Any]] = {}


def _peek_header(token: str) -> dict[str, Any]:
    """The JOSE header only, to pick the key. jwt.get_unverified_header would decode and check
    the whole token, which jwt.decode then does again; a bearer token is checked on every call."""
    segment = token.split(".", 1)[0]
    header = _headers.get(segment)
    if header is not None:
        return header
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise Unauthenticated("the bearer token is not a JWT") from exc
    if not isinstance(header, dict):
        raise Unauthenticated("the bearer token is not a JWT")
    if len(_headers) >= _MAX_HEADERS:
        _headers.clear()
    _headers[segment] = header
    return header


class VerifiedTokens:
    """Tokens whose signature and claims already checked out, keyed by the exact token text
    and where it was presented (org, audience).

    An agent presents the same access token on every check for its whole life; verifying the
    EdDSA signature again each time is the largest single cost of a check. What can change
    during a token's life is still checked on every use: expiry and the revocation list (and,
    by the callers, the agent's status). Only successful verifications are stored; the store
    is bounded (JITGATE_VERIFIED_TOKEN_CACHE, 0 turns it off).
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], dict[str, Any]] = {}

    def get(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        return self._items.get(key)

    def put(self, key: tuple[str, str, str], claims: dict[str, Any]) -> None:
        limit = get_settings().verified_token_cache
        if limit <= 0:
            return
        if len(self._items) >= limit:
            self._items.clear()
        self._items[key] = claims


verified_tokens = VerifiedTokens()


def verify(
    token: str,
    *,
    org_id: str,
    audience: str | None = None,
    now: float | None = None,
    check_revoked: bool = True,
) -> dict[str, Any]:
    """Check typ, alg, kid, signature, iss, aud, exp/nbf and the revocation list; no DB access."""
    key = (token, org_id, audience or "")
    claims = verified_tokens.get(key)
    if claims is None:
        claims = _verify_fully(token, org_id=org_id, audience=audience, now=now)
        verified_tokens.put(key, claims)
    elif claims["exp"] + get_settings().clock_leeway <= (time.time() if now is None else now):
        raise TokenExpired("the access token has expired")
    if check_revoked and is_revoked(claims["jti"]):
        raise TokenRevoked("the access token has been revoked")
    return claims


def redis_revoked_key(jti: str) -> str:
    """The revocation list's key as Redis holds it (one Lua script reads it with a count)."""
    return redis_key(revoked_key(jti))


def refuse_if_revoked(jti: str, *, known_revoked: bool = False) -> None:
    if known_revoked or is_revoked(jti):
        raise TokenRevoked("the access token has been revoked")


def is_revoked(jti: str) -> bool:
    """The shared revocation list; while Redis is down, the database's record of revocations
    (every revocation writes both). A token whose row is still queued was never revoked:
    revocation flushes the queue first."""
    try:
        return get_store().exists(revoked_key(jti))
    except StoreUnavailable:
        return _revoked_in_database(jti)


def _revoked_in_database(jti: str) -> bool:
    from app.core.db import read_session  # the database only on this rare path
    from app.models import IssuedToken

    with read_session() as session:
        record = session.get(IssuedToken, jti)
    return record is not None and record.revoked_at is not None


def _verify_fully(
    token: str, *, org_id: str, audience: str | None, now: float | None = None
) -> dict[str, Any]:
    header = _peek_header(token)
    if header.get("typ") != ACCESS_TOKEN_TYP or header.get("alg") != SIGNING_ALG:
        raise Unauthenticated("the bearer token is not an access token issued by jitgate")
    kid = header.get("kid")
    # Only this org's keys: another org's token names a kid this org does not have.
    public_key = key_ring.public_key(org_id, kid) if isinstance(kid, str) else None
    if public_key is None:
        raise Unauthenticated("the bearer token was signed by an unknown key")
    issuer = issuer_for(org_id)
    options: Any = {"require": ["exp", "iat", "iss", "sub", "jti", "aud"], "verify_iat": False}
    # At another moment than now (a tool call reported after it ran): exp is checked below.
    options["verify_exp"] = now is None
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[SIGNING_ALG],
            audience=audience or issuer,
            issuer=issuer,
            leeway=get_settings().clock_leeway,
            options=options,
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("the access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"the bearer token is not valid here: {exc}") from exc
    if now is not None and claims["exp"] + get_settings().clock_leeway <= now:
        raise TokenExpired("the access token has expired")
    if claims.get("org") != org_id:
        raise Unauthenticated("the bearer token belongs to another organization")
    return claims

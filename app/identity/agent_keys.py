"""Agents' public keys: JWK validation (asymmetric, public, strong enough) and jwks_uri fetching."""

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from app.core import outbound
from app.core.errors import RuleViolation
from app.core.validation import http_url
from app.settings import get_settings

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
MAX_KEYS = 10


@dataclass(frozen=True)
class PublicKey:
    kid: str
    alg: str  # the one algorithm this key may be used with
    jwk: dict[str, Any]


def pinned_algorithm(jwk: dict[str, Any]) -> str:
    """The algorithm is fixed by the registered key, never by a token header."""
    kty, declared = jwk.get("kty"), jwk.get("alg")
    if kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise RuleViolation("OKP keys must use the Ed25519 curve")
        if declared not in (None, "EdDSA", "Ed25519"):
            raise RuleViolation(f"an Ed25519 key cannot be used with alg {declared!r}")
        return "EdDSA"
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise RuleViolation("EC keys must use the P-256 curve (ES256)")
        if declared not in (None, "ES256"):
            raise RuleViolation(f"a P-256 key cannot be used with alg {declared!r}")
        return "ES256"
    if kty == "RSA":
        if declared not in (None, "RS256", "PS256"):
            raise RuleViolation(f"an RSA key may be used with RS256 or PS256, not {declared!r}")
        return declared or "RS256"
    if kty == "oct":
        raise RuleViolation("symmetric (oct) keys are refused: register a public key")
    raise RuleViolation(f"unsupported key type {kty!r}: use OKP/Ed25519, EC/P-256 or RSA")


def parse_jwk(jwk: Any, index: int) -> PublicKey:
    if not isinstance(jwk, dict):
        raise RuleViolation(f"keys[{index}] must be a JSON object")
    leaked = sorted(PRIVATE_MEMBERS & jwk.keys())
    if jwk.get("kty") == "oct":
        raise RuleViolation("symmetric (oct) keys are refused: register a public key")
    if leaked:
        raise RuleViolation(
            f"keys[{index}] carries private key material ({', '.join(leaked)}): "
            "register only the public key"
        )
    alg = pinned_algorithm(jwk)
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        raise RuleViolation(f"keys[{index}] is not a valid {alg} public key: {exc}") from exc
    if alg in ("RS256", "PS256") and key.key_size < MIN_RSA_BITS:
        raise RuleViolation(f"keys[{index}] is RSA-{key.key_size}; at least {MIN_RSA_BITS} bits")
    kid = jwk.get("kid")
    if kid is not None and (
        not isinstance(kid, str) or not 0 < len(kid) <= 200 or not kid.isprintable()
    ):
        raise RuleViolation(f"keys[{index}].kid must be a non-empty printable string")
    kid = kid or jwk_thumbprint(jwk)
    public = {k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS}
    return PublicKey(kid=kid, alg=alg, jwk={**public, "kid": kid, "alg": alg})


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    required = {
        "OKP": ("crv", "kty", "x"),
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
    }
    members = {k: jwk[k] for k in required[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def parse_jwks(jwks: Any) -> list[PublicKey]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise RuleViolation('jwks must be an object of the form {"keys": [...]}')
    keys = jwks["keys"]
    if not 1 <= len(keys) <= MAX_KEYS:
        raise RuleViolation(f"jwks must hold between 1 and {MAX_KEYS} keys")
    parsed = [parse_jwk(k, i) for i, k in enumerate(keys)]
    kids = [k.kid for k in parsed]
    if len(set(kids)) != len(kids):
        raise RuleViolation("every key in jwks needs a distinct kid")
    return parsed


def validate_jwks_uri(uri: Any) -> str:
    return http_url(uri, "jwks_uri")


class JwksFetchFailed(Exception):
    pass


def fetch_jwks(uri: str) -> list[PublicKey]:
    """GET the agent's JWKS: http(s) only, no redirects, an overall deadline and a size cap."""
    settings = get_settings()
    limit, deadline = settings.jwks_max_bytes, settings.jwks_fetch_timeout
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    try:
        client = outbound.client(timeout=deadline)
        with (
            outbound.deadline(deadline),
            client,
            client.stream("GET", uri, headers=headers) as resp,
        ):
            body = _read_capped(resp, limit)
    except httpx.TimeoutException as exc:
        raise JwksFetchFailed(
            f"jwks_uri did not answer within the {deadline:g} s deadline"
        ) from exc
    except httpx.HTTPError as exc:
        raise JwksFetchFailed(f"jwks_uri could not be fetched: {type(exc).__name__}") from exc
    try:
        return parse_jwks(json.loads(body))
    except (ValueError, RecursionError, RuleViolation) as exc:
        raise JwksFetchFailed(f"jwks_uri document is not a valid public JWKS: {exc}") from exc


def _read_capped(resp: httpx.Response, limit: int) -> bytes:
    """The body as sent, refused past `limit` bytes. Compressed bodies are refused: a few
    kilobytes of gzip can inflate to gigabytes before any decoded-size check could run."""
    if resp.status_code != 200:
        raise JwksFetchFailed(f"jwks_uri answered HTTP {resp.status_code}")
    encoding = resp.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise JwksFetchFailed(f"jwks_uri answered with Content-Encoding {encoding[:40]!r}")
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise JwksFetchFailed("jwks_uri document is larger than the limit")
    body = bytearray()
    for chunk in resp.iter_raw():
        body += chunk
        if len(body) > limit:
            raise JwksFetchFailed("jwks_uri document is larger than the limit")
    return bytes(body)

"""Agent keys and RFC 7523 client assertions: key pairs, their JWKs, signed assertions."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ASSERTION_LIFETIME = 60
JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class SigningKey:
    """An agent's private key with the algorithm and kid its registered JWK fixes."""

    key: PrivateKey
    alg: str
    kid: str

    @classmethod
    def from_pem(cls, pem: str | bytes, kid: str | None = None) -> SigningKey:
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(
            key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        ):
            raise ValueError("agent keys must be Ed25519, EC P-256 or RSA")
        alg = algorithm_for(key)
        return cls(key=key, alg=alg, kid=kid or thumbprint(public_jwk(key)))

    def public_jwk(self) -> dict[str, Any]:
        return {**public_jwk(self.key), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}


def algorithm_for(key: PrivateKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name != "secp256r1":
            raise ValueError("EC agent keys must use P-256")
        return "ES256"
    if key.key_size < 2048:
        raise ValueError("RSA agent keys must be at least 2048 bits")
    return "RS256"


def public_jwk(key: PrivateKey) -> dict[str, Any]:
    """The public half as a JWK (no private members), without kid/alg."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {k: v for k, v in jwk.items() if k in {"kty", "crv", "x", "y", "n", "e"}}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK."""
    required = {
        "OKP": ("crv", "kty", "x"),
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
    }
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def generate_key() -> tuple[str, dict[str, Any]]:
    """A fresh Ed25519 key pair: (private PEM, public JWKS to register)."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, SigningKey.from_pem(pem).jwks()


def sign_assertion(
    signing_key: SigningKey,
    *,
    agent_id: str,
    audience: str,
    now: float | None = None,
    lifetime: int = ASSERTION_LIFETIME,
) -> str:
    """An RFC 7523 client assertion: iss = sub = the agent, a unique jti, a short life."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": agent_id,
        "sub": agent_id,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "jti": uuid.uuid4().hex,
    }
    headers = {"kid": signing_key.kid, "typ": "JWT"}
    return jwt.encode(claims, signing_key.key, algorithm=signing_key.alg, headers=headers)

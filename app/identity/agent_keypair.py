"""Generate an agent's Ed25519 key pair (for `jitgate keys generate` and the demo)."""

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def generate(kid: str | None = None) -> tuple[str, dict]:
    """Return (private key PEM, public JWKS)."""
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk = {**jwk, "alg": "EdDSA", "use": "sig"}
    if kid:
        jwk["kid"] = kid
    else:
        from app.identity.agent_keys import jwk_thumbprint

        jwk["kid"] = jwk_thumbprint(jwk)
    return pem, {"keys": [jwk]}

"""Ed25519 signatures through libsodium (PyNaCl), for the key objects cryptography loads.

The token endpoint verifies one Ed25519 signature (the client assertion) and makes one (the
access token) per request. On this project's machine cryptography's (OpenSSL's) Ed25519 verify
costs ~120 µs and sign ~37 µs; libsodium's ~63 µs and ~24 µs for the same bytes. Keys are still
loaded, stored and published with cryptography; only these two operations go to libsodium,
with each key's raw bytes taken once.

Same signatures: Ed25519 is deterministic (RFC 8032), so a signature made here is byte for byte
cryptography's (tests/test_ed25519.py, and tests/oauth/test_token_signing.py against PyJWT).
Same verdicts for every signature a holder of the private key makes. libsodium is the stricter
of the two: besides S < L it refuses small-order public keys and R values, which no honest
signer produces; a signature whose length is not 64 bytes is refused before libsodium sees it.
"""

from typing import Any

import nacl.bindings
import nacl.exceptions
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_BYTES = nacl.bindings.crypto_sign_BYTES  # 64
_RAW = serialization.Encoding.Raw

# Raw key bytes by the key object's identity; the object is kept in the entry, so its id cannot
# be reused while it is cached. Bounded: a process sees few keys, and many only empty it.
_raw: dict[int, tuple[Any, bytes]] = {}
_MAX_KEYS = 4096


def _cached(key: Any, make: Any) -> bytes:
    found = _raw.get(id(key))
    if found is not None and found[0] is key:
        return found[1]
    raw = make(key)
    if len(_raw) >= _MAX_KEYS:
        _raw.clear()
    _raw[id(key)] = (key, raw)
    return raw


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, serialization.PublicFormat.Raw)


def _secret_raw(key: Ed25519PrivateKey) -> bytes:
    """libsodium's 64-byte secret key: the seed, then the public key."""
    seed = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return seed + _public_raw(key.public_key())


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of message: what key.sign(message) returns."""
    return nacl.bindings.crypto_sign(message, _cached(key, _secret_raw))[:SIGNATURE_BYTES]


def verify(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when signature is a valid Ed25519 signature of message by key."""
    if len(signature) != SIGNATURE_BYTES:  # else libsodium would read part of the message as it
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, _cached(key, _public_raw))
    except nacl.exceptions.BadSignatureError:
        return False
    return True

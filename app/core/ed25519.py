"""Ed25519 signatures through libsodium (PyNaCl), for the key objects cryptography loads.

The token endpoint verifies one Ed25519 signature (the client assertion) and makes one (the
access token) per request. On this project's machine cryptography's (OpenSSL's) Ed25519 verify
costs ~120 µs and sign ~37 µs; libsodium's ~63 µs and ~24 µs for the same bytes. Keys are still
loaded, stored and published with cryptography; only these two operations go to libsodium. A
public key's raw bytes are taken once and cached here; a private key's libsodium form
(`secret_key`) is kept by its holder (app/identity/keys.ActiveKey), never here, so it lives
exactly as long as the key it was made from.

Same signatures: Ed25519 is deterministic (RFC 8032), so a signature made here is byte for byte
cryptography's (tests/test_ed25519.py, and tests/oauth/test_token_signing.py against PyJWT).
Same verdicts for every signature a holder of the private key makes. libsodium is the stricter
of the two: besides S < L it refuses small-order public keys and R values, which no honest
signer produces; a signature whose length is not 64 bytes is refused before libsodium sees it.
"""

import nacl.bindings
import nacl.exceptions
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_BYTES = nacl.bindings.crypto_sign_BYTES  # 64
_RAW = serialization.Encoding.Raw

# Public keys' raw bytes by the key object's identity; the object is kept in the entry, so its
# id cannot be reused while it is cached. Bounded: a process sees few keys, and many only empty
# it. Public keys only: no private key material is kept by this module.
_raw: dict[int, tuple[Ed25519PublicKey, bytes]] = {}
_MAX_KEYS = 4096


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    found = _raw.get(id(key))
    if found is not None and found[0] is key:
        return found[1]
    raw = _public_raw(key)
    if len(_raw) >= _MAX_KEYS:
        _raw.clear()
    _raw[id(key)] = (key, raw)
    return raw


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, serialization.PublicFormat.Raw)


def secret_key(key: Ed25519PrivateKey) -> bytes:
    """libsodium's 64-byte secret key for `sign`: the seed, then the public key. The caller
    keeps it with the key object and drops both together."""
    seed = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return seed + _public_raw(key.public_key())


def sign(secret: bytes, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of message by the key whose `secret_key` this is: what
    key.sign(message) returns."""
    return nacl.bindings.crypto_sign(message, secret)[:SIGNATURE_BYTES]


def verify(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when signature is a valid Ed25519 signature of message by key."""
    if len(signature) != SIGNATURE_BYTES:  # else libsodium would read part of the message as it
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, _public_bytes(key))
    except nacl.exceptions.BadSignatureError:
        return False
    return True

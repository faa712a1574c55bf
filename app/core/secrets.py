"""Opaque secrets: generation, hashing for storage, constant-time comparison, encryption at rest."""

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.settings import get_settings

ADMIN_TOKEN_PREFIX = "jgadm_"
APPROVER_TOKEN_PREFIX = "jgapr_"


def new_secret_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: they are 256-bit random, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def derive_key(purpose: str, length: int = 32) -> bytes:
    """A key for one purpose, derived from JITGATE_SECRET_KEY with HKDF-SHA256."""
    return _derive(get_settings().secret_key, purpose, length)


@lru_cache(maxsize=64)
def _derive(secret: str, purpose: str, length: int) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=b"jitgate", info=purpose.encode())
    return hkdf.derive(secret.encode())


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key("at-rest-encryption")))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


class DecryptionFailed(RuntimeError):
    """The stored value was encrypted under another JITGATE_SECRET_KEY or was altered."""


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionFailed("cannot decrypt: wrong JITGATE_SECRET_KEY or altered data") from exc


def sign_value(purpose: str, value: str) -> str:
    """HMAC-SHA256 of value under a purpose-specific key, URL-safe base64."""
    mac = hmac.new(derive_key("hmac:" + purpose), value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def verify_signed_value(purpose: str, value: str, signature: str) -> bool:
    return constant_time_equal(sign_value(purpose, value), signature)

"""The service's own Ed25519 signing keys: creation, encrypted storage, rotation, the JWKS."""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col, select

from app.models import SigningKey
from app.models._types import aware, utcnow
from app.security.secrets import decrypt, encrypt
from app.services.agent_keys import jwk_thumbprint
from app.settings import get_settings

SIGNING_ALG = "EdDSA"
# Long enough for any token we sign (JIT tokens are capped at one hour).
MAX_TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: Ed25519PrivateKey


def _public_jwk(kid: str, public_key: Ed25519PublicKey) -> dict:
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": kid, "alg": SIGNING_ALG, "use": "sig"}


def create_signing_key(session: Session, *, now: datetime | None = None) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = jwk_thumbprint(_public_jwk("", private_key.public_key()))
    row = SigningKey(
        kid=kid,
        private_key_encrypted=encrypt(pem),
        public_jwk=_public_jwk(kid, private_key.public_key()),
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def active_key_row(session: Session) -> SigningKey | None:
    stmt = select(SigningKey).where(col(SigningKey.retired_at).is_(None))
    return session.exec(stmt.order_by(col(SigningKey.created_at).desc())).first()


def ensure_signing_key(session: Session) -> SigningKey:
    return active_key_row(session) or create_signing_key(session)


def rotate_signing_key(session: Session, *, now: datetime | None = None) -> SigningKey:
    """Retire the active key (still published until its tokens expire) and make a new one."""
    now = now or utcnow()
    old = active_key_row(session)
    if old is not None:
        old.retired_at = now
        settings = get_settings()
        # Until every token the old key signed has expired, whatever the configured lifetime.
        lifetime = max(MAX_TOKEN_LIFETIME, timedelta(seconds=settings.access_token_ttl))
        old.publish_until = now + lifetime + timedelta(seconds=settings.clock_leeway)
        session.add(old)
    new = create_signing_key(session, now=now)
    key_ring.invalidate()
    return new


def published_keys(session: Session, *, now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    rows = session.exec(select(SigningKey)).all()
    return [
        r.public_jwk
        for r in rows
        if r.retired_at is None or (r.publish_until is not None and aware(r.publish_until) > now)
    ]


class KeyRing:
    """Process cache of key objects so signing and offline verification never touch the DB."""

    REFRESH_SECONDS = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: ActiveKey | None = None
        self._public: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0
            self._active = None

    def _load(self) -> None:
        from app.db import get_read_engine

        with Session(get_read_engine()) as session:
            row = active_key_row(session)
            if row is None:
                raise RuntimeError("no signing key: the web process creates one at start-up")
            pem = decrypt(row.private_key_encrypted).encode()
            private_key = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(private_key, Ed25519PrivateKey)
            public: dict[str, Ed25519PublicKey] = {}
            for jwk in published_keys(session):
                key = jwt.PyJWK(jwk, algorithm=SIGNING_ALG).key
                public[jwk["kid"]] = key
        self._active = ActiveKey(kid=row.kid, private_key=private_key)
        self._public = public
        self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        if self._active is None or time.monotonic() - self._loaded_at > self.REFRESH_SECONDS:
            with self._lock:
                if (
                    self._active is None
                    or time.monotonic() - self._loaded_at > self.REFRESH_SECONDS
                ):
                    self._load()

    def active(self) -> ActiveKey:
        self._fresh()
        assert self._active is not None
        return self._active

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        self._fresh()
        key = self._public.get(kid)
        if key is None and time.monotonic() - self._loaded_at > 1.0:
            # An unknown kid may come from a rotation in another process: reload, at most once a second.
            with self._lock:
                self._load()
            key = self._public.get(kid)
        return key


key_ring = KeyRing()

"""Each org's own Ed25519 signing keys: creation, encrypted storage, rotation, the JWKS.

One key per org (not one for the service) so that nothing jitgate signs for one org, a token or
a webhook, verifies with another org's JWKS. Releases before this had one shared key (stored
with org_id null); it signs nothing now and stays in every org's JWKS until its tokens expire.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col, or_, select

from app.core import ed25519
from app.core.columns import aware, utcnow
from app.core.secrets import decrypt, encrypt
from app.identity.agent_keys import jwk_thumbprint
from app.models import Org, SigningKey
from app.settings import get_settings

SIGNING_ALG = "EdDSA"
# Long enough for any token we sign (JIT tokens are capped at one hour).
MAX_TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: Ed25519PrivateKey
    # libsodium's form of the private key (app/core/ed25519.py), made once per load and dropped
    # with the key: a reload or a rotation leaves no copy behind.
    secret: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret", ed25519.secret_key(self.private_key))


def _public_jwk(kid: str, public_key: Ed25519PublicKey) -> dict:
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": kid, "alg": SIGNING_ALG, "use": "sig"}


def create_signing_key(
    session: Session, *, org_id: str | None, now: datetime | None = None
) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = jwk_thumbprint(_public_jwk("", private_key.public_key()))
    row = SigningKey(
        kid=kid,
        org_id=org_id,
        private_key_encrypted=encrypt(pem),
        public_jwk=_public_jwk(kid, private_key.public_key()),
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def private_key_of(row: SigningKey) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(decrypt(row.private_key_encrypted).encode(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def active_key_row(session: Session, org_id: str) -> SigningKey | None:
    stmt = select(SigningKey).where(
        SigningKey.org_id == org_id, col(SigningKey.retired_at).is_(None)
    )
    return session.exec(stmt.order_by(col(SigningKey.created_at).desc())).first()


def ensure_signing_key(session: Session, org_id: str) -> SigningKey:
    return active_key_row(session, org_id) or create_signing_key(session, org_id=org_id)


def ensure_org_keys(session: Session) -> int:
    """Give every org that has none its own key, at start-up, so signing never has to create one
    (inside a request that already holds SQLite's write lock, creating one would wait on it)."""
    keyed = select(SigningKey.org_id).where(
        col(SigningKey.org_id).is_not(None), col(SigningKey.retired_at).is_(None)
    )
    missing = session.exec(select(Org.id).where(col(Org.id).not_in(keyed))).all()
    for org_id in missing:
        create_signing_key(session, org_id=org_id)
    return len(missing)


def _publish_until(now: datetime) -> datetime:
    """Until every token a key retired at `now` signed has expired, whatever the lifetime."""
    settings = get_settings()
    lifetime = max(MAX_TOKEN_LIFETIME, timedelta(seconds=settings.access_token_ttl))
    return now + lifetime + timedelta(seconds=settings.clock_leeway)


def rotate_signing_key(session: Session, *, org_id: str, now: datetime | None = None) -> SigningKey:
    """Retire the org's active key (still published until its tokens expire) and make a new one."""
    now = now or utcnow()
    old = active_key_row(session, org_id)
    if old is not None:
        old.retired_at = now
        old.publish_until = _publish_until(now)
        session.add(old)
    new = create_signing_key(session, org_id=org_id, now=now)
    key_ring.invalidate(org_id)
    return new


def retire_shared_keys(session: Session, *, now: datetime | None = None) -> int:
    """Start the shared key's last publication window, once, when the upgraded service starts.

    retired_at stays unset: a web process of the previous release still running during a rolling
    upgrade looks for an unretired key and keeps signing with it; its tokens expire well within
    the window. This release never signs with a key that has no org.
    """
    stmt = select(SigningKey).where(
        col(SigningKey.org_id).is_(None), col(SigningKey.publish_until).is_(None)
    )
    rows = session.exec(stmt).all()
    for row in rows:
        row.publish_until = _publish_until(now or utcnow())
        session.add(row)
    key_ring.invalidate()
    return len(rows)


def _is_published(row: SigningKey, now: datetime) -> bool:
    if row.publish_until is None:
        return row.retired_at is None
    return aware(row.publish_until) > now


def published_keys(session: Session, org_id: str, *, now: datetime | None = None) -> list[dict]:
    """The org's JWKS: its own keys, and the former shared key while its tokens may be alive."""
    now = now or utcnow()
    stmt = select(SigningKey).where(
        or_(SigningKey.org_id == org_id, col(SigningKey.org_id).is_(None))
    )
    return [r.public_jwk for r in session.exec(stmt).all() if _is_published(r, now)]


@dataclass
class _OrgKeys:
    active: ActiveKey | None
    public: dict[str, Ed25519PublicKey]
    loaded_at: float = field(default_factory=time.monotonic)


class KeyRing:
    """Process cache of each org's key objects so signing and offline verification never touch
    the DB on the hot path. One lock per org: loading one org's keys never waits on another's."""

    REFRESH_SECONDS = 30.0
    # Past this many orgs the cache starts over (an unauthenticated route may name any org).
    MAX_ORGS = 10_000

    def __init__(self) -> None:
        self._orgs: dict[str, _OrgKeys] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def invalidate(self, org_id: str | None = None) -> None:
        if org_id is None:
            self._orgs.clear()
        else:
            self._orgs.pop(org_id, None)

    def _lock(self, org_id: str) -> threading.Lock:
        lock = self._locks.get(org_id)
        if lock is None:
            with self._locks_guard:
                if len(self._locks) >= self.MAX_ORGS:
                    self._locks.clear()
                lock = self._locks.setdefault(org_id, threading.Lock())
        return lock

    def _keys(self, org_id: str, *, signing: bool) -> _OrgKeys:
        keys = self._orgs.get(org_id)
        if not self._usable(keys, signing):
            with self._lock(org_id):
                keys = self._orgs.get(org_id)
                if not self._usable(keys, signing):
                    keys = self._load(org_id, create=signing)
        assert keys is not None
        return keys

    def _usable(self, keys: _OrgKeys | None, signing: bool) -> bool:
        if keys is None or time.monotonic() - keys.loaded_at > self.REFRESH_SECONDS:
            return False
        return keys.active is not None or not signing

    def _load(self, org_id: str, *, create: bool) -> _OrgKeys:
        from app.core.db import get_read_engine, session_scope

        with Session(get_read_engine()) as session:
            row = active_key_row(session, org_id)
            active = ActiveKey(row.kid, private_key_of(row)) if row is not None else None
            jwks = published_keys(session, org_id)
        if active is None and create:
            # An org created while no upgraded web process was running: see ensure_org_keys.
            with session_scope() as session:
                row = ensure_signing_key(session, org_id)
                active = ActiveKey(row.kid, private_key_of(row))
                jwks.append(row.public_jwk)
        public = {jwk["kid"]: jwt.PyJWK(jwk, algorithm=SIGNING_ALG).key for jwk in jwks}
        keys = _OrgKeys(active=active, public=public)
        if len(self._orgs) >= self.MAX_ORGS:
            self._orgs.clear()
        self._orgs[org_id] = keys
        return keys

    def active(self, org_id: str) -> ActiveKey:
        keys = self._keys(org_id, signing=True)
        assert keys.active is not None
        return keys.active

    def public_key(self, org_id: str, kid: str) -> Ed25519PublicKey | None:
        keys = self._keys(org_id, signing=False)
        key = keys.public.get(kid)
        if key is None and time.monotonic() - keys.loaded_at > 1.0:
            # An unknown kid may come from a rotation in another process: reload, at most once a
            # second per org.
            with self._lock(org_id):
                key = self._load(org_id, create=False).public.get(kid)
        return key


key_ring = KeyRing()

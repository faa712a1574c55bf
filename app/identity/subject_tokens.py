"""Outside JWTs presented at the token exchange (RFC 8693): verified with a trusted issuer's keys.

The RFC 8725 rules of the client assertion apply (assertions.py's validators are reused): the
algorithm is pinned by the issuer's key, never the header; key-carrying headers (jku, x5u, jwk,
x5c) and `none` are refused; `exp` is required. Then: the issuer must be trusted by this org for
this kind of subject, the audience must be one of the issuer's, and the lifetime at most 24 h.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.core.errors import InvalidClient, InvalidRequest
from app.identity import assertions
from app.identity.agent_keys import PublicKey, parse_jwks
from app.identity.federation_models import TrustedIssuer
from app.identity.remote_jwks import jwks_cache
from app.settings import get_settings

MAX_LIFETIME = 24 * 3600


class SubjectTokenRejected(InvalidRequest):
    """RFC 8693 §2.2.2: an unacceptable subject token is invalid_request; the rule is named."""

    def __init__(self, rule: str, description: str, *, what: str = "subject_token"):
        super().__init__(f"{what} refused ({rule}): {description}")
        self.rule = rule


@dataclass(frozen=True)
class VerifiedSubjectToken:
    issuer: TrustedIssuer
    claims: dict[str, Any]


@contextmanager
def as_subject_token() -> Iterator[None]:
    """The assertion validators' refusals, renamed: same rule, but 400 for this token."""
    try:
        yield
    except assertions.AssertionRejected as exc:
        raise SubjectTokenRejected(exc.rule, exc.detail) from exc


def find_issuer(session: Session, *, org_id: str, iss: Any, kind: str) -> TrustedIssuer:
    """Trusted only by this org and only for its kind: another org's issuer is unknown here."""
    if not isinstance(iss, str) or not 0 < len(iss) <= 2048 or not iss.isprintable():
        raise SubjectTokenRejected("iss", "iss must name the token's issuer")
    rows = session.exec(
        select(TrustedIssuer).where(TrustedIssuer.org_id == org_id, TrustedIssuer.issuer == iss)
    ).all()
    if not rows:
        raise SubjectTokenRejected("issuer", f"{iss[:200]} is not a trusted issuer of this org")
    for row in rows:
        if row.kind == kind:
            return row
    raise SubjectTokenRejected("issuer", f"{iss[:200]} is trusted for {rows[0].kind}s, not {kind}s")


def issuer_keys(issuer: TrustedIssuer, kid: str | None) -> list[PublicKey]:
    if issuer.jwks is not None:
        return parse_jwks(issuer.jwks)
    assert issuer.jwks_uri is not None
    try:
        return jwks_cache.get(issuer.jwks_uri, kid=kid, org_id=issuer.org_id)
    except InvalidClient as exc:
        raise SubjectTokenRejected("jwks_uri", exc.description) from exc


def validate_lifetime(claims: dict[str, Any], now: float) -> None:
    leeway = get_settings().clock_leeway
    with as_subject_token():
        exp = assertions.numeric_date(claims, "exp")
        iat = assertions.numeric_date(claims, "iat")
        assertions.validate_nbf(claims, now)
        assertions.validate_iat(claims, now)
    if exp is None:
        raise SubjectTokenRejected("exp", "exp is required")
    if exp < now - leeway:
        raise SubjectTokenRejected("exp", "the token has expired")
    if exp > now + MAX_LIFETIME + leeway or (iat is not None and exp - iat > MAX_LIFETIME):
        raise SubjectTokenRejected("exp", "a lifetime of more than 24 hours is refused")


def validate_audience(claims: dict[str, Any], issuer: TrustedIssuer) -> None:
    aud = claims.get("aud")
    values = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(v, str) and v in issuer.audiences for v in values):
        raise SubjectTokenRejected("aud", "aud is none of the audiences this issuer is trusted for")


def verify(
    session: Session, *, org_id: str, token: str, kind: str, now: float | None = None
) -> VerifiedSubjectToken:
    now = time.time() if now is None else now
    with as_subject_token():
        jws = assertions.parse_compact(token)
        header, unverified = jws.header, jws.claims
        assertions.validate_header(header)
        assertions.validate_key_hint(header)
    issuer = find_issuer(session, org_id=org_id, iss=unverified.get("iss"), kind=kind)
    # Every check that needs no key first: only a token that could be valid costs a key fetch.
    validate_lifetime(unverified, now)
    validate_audience(unverified, issuer)
    with as_subject_token():
        key = assertions.select_key(issuer_keys(issuer, header.get("kid")), header)
        assertions.verify_signature(jws, key)
    return VerifiedSubjectToken(issuer=issuer, claims=unverified)

"""The service's own JWS encoding and decoding, held to PyJWT's.

Access tokens are signed without jwt.encode (app.identity.access_tokens.sign), and client
assertions are split and decoded without jwt.decode (app.core.compact_jws): given the same input,
each must produce exactly what PyJWT produces and accept exactly what PyJWT accepts.
"""

import base64
import os

import jwt
import pytest

from app.core import compact_jws
from app.identity import access_tokens
from app.identity.keys import SIGNING_ALG, key_ring


def test_a_signed_access_token_is_byte_for_byte_pyjwts(client, org):
    key = key_ring.active(org.org_id)
    claims = {
        "iss": "http://testserver/orgs/" + org.org_id,
        "sub": "user@example.com",
        "aud": "https://api.example/é",  # non-ASCII: escaped the same way
        "scope": "document.read",
        "iat": 1_700_000_000,
        "exp": 1_700_000_900,
        "org": org.org_id,
        "act": {"sub": "agt_1", "act": {"sub": "agt_2"}},
        "delegation": ["a", "b"],
        "status_epoch": 0,
    }
    headers = {"kid": key.kid, "typ": access_tokens.ACCESS_TOKEN_TYP}
    expected = jwt.encode(claims, key.private_key, algorithm=SIGNING_ALG, headers=headers)
    assert access_tokens.sign(claims) == expected  # Ed25519 signatures are deterministic


def test_a_signed_access_token_verifies_with_the_orgs_public_key(client, org):
    claims = {"org": org.org_id, "sub": "agt_x", "exp": 2_000_000_000}
    token = access_tokens.sign(claims)
    header = jwt.get_unverified_header(token)
    public_key = key_ring.public_key(org.org_id, header["kid"])
    assert jwt.decode(token, public_key, algorithms=["EdDSA"]) == claims
    assert header == {"alg": "EdDSA", "kid": header["kid"], "typ": "at+jwt"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _pyjwt_accepts(segment: str) -> bool:
    try:
        jwt.utils.base64url_decode(segment)
    except Exception:
        return False
    # PyJWT's own compact parse also refuses a non-canonical spelling (its decode re-encodes).
    return _b64(jwt.utils.base64url_decode(segment)) == segment.rstrip("=")


@pytest.mark.parametrize("length", range(0, 9))
def test_a_segment_is_accepted_exactly_in_its_canonical_spelling(length):
    """Every last character after the same prefix: accepted when the segment is the canonical
    spelling of the bytes it decodes to (as PyJWT decides), refused when it is a second one."""
    raw = os.urandom(length)
    canonical = _b64(raw)
    assert compact_jws.b64url_decode(canonical, "payload") == raw
    if not canonical:
        return
    refused = 0
    for last in compact_jws._ALPHABET:
        spelling = canonical[:-1] + last
        if _pyjwt_accepts(spelling):
            assert compact_jws.b64url_decode(spelling, "payload") == base64.urlsafe_b64decode(
                spelling + "=" * (-len(spelling) % 4)
            )
        else:
            with pytest.raises(compact_jws.MalformedJws):
                compact_jws.b64url_decode(spelling, "payload")
            refused += 1
    # Two characters carry 4 spare bits (15 of 16 spellings refused), three carry 2 (3 of 4).
    assert refused == {0: 0, 2: 60, 3: 48}[len(canonical) % 4]


@pytest.mark.parametrize("segment", ["A", "AB=", "ABC==", "AB==C", "A+B/", "AB\n", "é"])
def test_segments_pyjwt_refuses_are_refused(segment):
    assert not _pyjwt_accepts(segment)
    with pytest.raises(compact_jws.MalformedJws):
        compact_jws.b64url_decode(segment, "payload")


@pytest.mark.parametrize("segment", ["QQ", "QQ==", "QUI", "QUI=", "QUJD", ""])
def test_padded_and_unpadded_canonical_segments_are_accepted(segment):
    assert _pyjwt_accepts(segment)
    assert compact_jws.b64url_decode(segment, "payload") == jwt.utils.base64url_decode(segment)

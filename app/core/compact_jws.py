"""Compact JWS (RFC 7515 §7.1): split once, decode strictly, verify over the exact signing input.

The token endpoint verifies one client assertion per request. PyJWT's decode_complete parses the
token again after the caller has read its header and claims, and checks each segment's alphabet
character by character in Python: together more CPU than the Ed25519 verification itself. Here
a segment is checked with one regular expression and decoded by the C base64 codec, and the
signature is verified for the key's pinned algorithm: Ed25519 by libsodium (app.core.ed25519,
half of OpenSSL's CPU), the others by PyJWT's algorithm object (the same code PyJWT runs:
raw-to-DER for ES256, PSS padding for PS256).

A segment is accepted exactly when PyJWT accepts it: the base64url alphabet, up to two '=' of
correct padding (some issuers pad), and the canonical spelling only (the unused low bits of the
last character zero), so one signed token has one spelling.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.core import ed25519

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# By the length of the unpadded segment modulo 4: the last characters whose unused low bits are
# zero (2 characters carry one byte and 4 spare bits, 3 carry two bytes and 2 spare bits).
_CANONICAL_LAST = {
    2: frozenset(_ALPHABET[0::16]),
    3: frozenset(_ALPHABET[0::4]),
}


class MalformedJws(ValueError):
    """The text is not a compact JWS this module accepts; str() says which part is wrong."""


def b64url_decode(segment: str, what: str) -> bytes:
    if _SEGMENT.fullmatch(segment) is None:
        raise MalformedJws(f"the {what} is not base64url")
    stripped = segment.rstrip("=")
    if (stripped != segment and len(segment) % 4) or len(stripped) % 4 == 1:
        raise MalformedJws(f"the {what} has a wrong length or padding")
    # Canonical: the bits of the last character that encode no byte are zero. Only the last
    # character can carry them, so it alone is checked (re-encoding the segment cost more).
    tail = _CANONICAL_LAST.get(len(stripped) % 4)
    if tail is not None and stripped[-1] not in tail:
        raise MalformedJws(f"the {what} is not in canonical base64url")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def _json_object(segment: str, what: str) -> dict[str, Any]:
    raw = b64url_decode(segment, what)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise MalformedJws(f"the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedJws(f"the {what} is not a JSON object")
    return value


# Every assertion an agent signs with one key has the same header segment: it is decoded once.
# The decoded header is shared, so callers only read it. Bounded: a caller sending many distinct
# headers only empties it. (Decoding it cost ~3 µs of a token request.)
_headers: dict[str, dict[str, Any]] = {}
_MAX_HEADERS = 1024


def _header(segment: str) -> dict[str, Any]:
    header = _headers.get(segment)
    if header is None:
        header = _json_object(segment, "header")
        if len(_headers) >= _MAX_HEADERS:
            _headers.clear()
        _headers[segment] = header
    return header


@dataclass(frozen=True)
class CompactJws:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes  # header and payload segments exactly as sent, joined by '.'
    signature_segment: str


def parse(token: str) -> CompactJws:
    """Split and decode header and payload (JSON objects). The signature is decoded only by
    verify(): an empty or broken one is the signature's problem, named as such."""
    parts = token.split(".")
    # An empty signature is left to verify(), which names the real problem.
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise MalformedJws("a compact JWS has three parts")
    try:
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    except UnicodeEncodeError:
        raise MalformedJws("the header or payload is not base64url") from None
    return CompactJws(
        header=_header(parts[0]),
        claims=_json_object(parts[1], "payload"),
        signing_input=signing_input,
        signature_segment=parts[2],
    )


def verify(jws: CompactJws, key: Any, alg: str) -> bool:
    """True when the signature verifies with `key` (a cryptography key object) under `alg`, the
    algorithm pinned by the caller's registered key (never the header's word alone). Raises
    MalformedJws when the signature segment is not base64url."""
    signature = b64url_decode(jws.signature_segment, "signature")
    if not signature:
        return False
    if alg == "EdDSA" and isinstance(key, Ed25519PublicKey):  # an Ed448 key is PyJWT's below
        return ed25519.verify(key, signature, jws.signing_input)
    try:
        algorithm = jwt.get_algorithm_by_name(alg)
    except NotImplementedError:
        return False
    try:
        return bool(algorithm.verify(jws.signing_input, key, signature))
    except (ValueError, TypeError, binascii.Error):
        return False

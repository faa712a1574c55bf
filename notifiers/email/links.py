"""Signed approve/deny links: each names one approver, one request, one action, and expires with it.

A token is `<base64url JSON claims>.<HMAC-SHA256>`; the HMAC key is derived from
JITGATE_SECRET_KEY for this purpose only, so a link cannot be reused as any other token.
"""

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.core.secrets import sign_value, verify_signed_value

LINK_PURPOSE = "email-decision-link"
LINK_PATH = "/approve-link/{token}"
TOKEN_SEPARATOR = "."
MAX_TOKEN_CHARS = 1024


class LinkAction(StrEnum):
    APPROVE = "approve"
    DENY = "deny"


class LinkInvalid(ValueError):
    """Not a link jitgate wrote (malformed, altered, or signed under another secret)."""


class LinkExpired(ValueError):
    """A genuine link whose request deadline has passed."""


@dataclass(frozen=True)
class LinkClaims:
    org_id: str
    request_id: str
    approver_id: str
    action: LinkAction
    expires_at: int  # unix seconds: the request's pending deadline


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(claims: LinkClaims) -> str:
    body = json.dumps(
        {
            "org": claims.org_id,
            "req": claims.request_id,
            "apr": claims.approver_id,
            "act": str(claims.action),
            "exp": claims.expires_at,
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    encoded = _b64encode(body.encode())
    return encoded + TOKEN_SEPARATOR + sign_value(LINK_PURPOSE, encoded)


def make_link(
    public_url: str,
    *,
    org_id: str,
    request_id: str,
    approver_id: str,
    action: LinkAction,
    expires_at: datetime,
) -> str:
    claims = LinkClaims(org_id, request_id, approver_id, action, int(expires_at.timestamp()))
    return public_url.rstrip("/") + LINK_PATH.format(token=make_token(claims))


def _decode_claims(encoded: str) -> LinkClaims:
    try:
        data = json.loads(_b64decode(encoded))
        return LinkClaims(
            org_id=str(data["org"]),
            request_id=str(data["req"]),
            approver_id=str(data["apr"]),
            action=LinkAction(data["act"]),
            expires_at=int(data["exp"]),
        )
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise LinkInvalid("the link's contents are malformed") from exc


def clock() -> float:
    """The current time; a seam so tests can move it past a link's expiry."""
    return time.time()


def read_token(token: str, *, now: float | None = None) -> LinkClaims:
    """The claims of a genuine, unexpired token; raise LinkInvalid or LinkExpired otherwise."""
    if len(token) > MAX_TOKEN_CHARS or token.count(TOKEN_SEPARATOR) != 1:
        raise LinkInvalid("the link is malformed")
    encoded, mac = token.split(TOKEN_SEPARATOR)
    if not verify_signed_value(LINK_PURPOSE, encoded, mac):
        raise LinkInvalid("the link's signature does not match")
    claims = _decode_claims(encoded)
    if (clock() if now is None else now) >= claims.expires_at:
        raise LinkExpired("the request this link decides has expired")
    return claims

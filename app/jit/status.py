"""The JIT request's statuses: one enum, a StrEnum so rows, JSON and string comparisons agree.

pending ──▶ approved ──▶ consumed | revoked | token_expired
   └──────▶ denied | expired | cancelled
"""

from enum import StrEnum


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    CONSUMED = "consumed"
    REVOKED = "revoked"
    TOKEN_EXPIRED = "token_expired"


# Nothing leaves these: the long-poll stops waiting and the history lists them.
FINAL = frozenset(
    {
        RequestStatus.DENIED,
        RequestStatus.EXPIRED,
        RequestStatus.CANCELLED,
        RequestStatus.CONSUMED,
        RequestStatus.REVOKED,
        RequestStatus.TOKEN_EXPIRED,
    }
)

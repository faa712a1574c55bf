"""Small validators shared by the services: email addresses and http(s) URLs."""

import re
from typing import Any
from urllib.parse import urlsplit

from app.errors import RuleViolation
from app.security import outbound

# Control characters are refused too: PostgreSQL rejects NUL bytes with a server error.
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}$")
MAX_URL = 2048


def email(value: Any, message: str) -> str:
    if not isinstance(value, str) or not EMAIL.match(value):
        raise RuleViolation(message)
    return value.lower()


def http_url(value: Any, field: str) -> str:
    """An absolute http(s) URL without credentials that the service will call (webhooks,
    callbacks, JWKS). An internal IP literal or localhost is refused here when private URLs are
    not allowed; names are checked again when they are resolved (app/security/outbound.py)."""
    try:
        parts = urlsplit(value) if isinstance(value, str) and len(value) <= MAX_URL else None
        host = parts.hostname if parts is not None else None
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        parts, host = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not host
        or not value.isprintable()
    ):
        raise RuleViolation(f"{field} must be an http(s) URL (at most {MAX_URL} characters)")
    if parts.username or parts.password:
        raise RuleViolation(f"{field} must not carry credentials")
    if not outbound.private_urls_allowed() and outbound.literal_host_is_internal(host):
        raise RuleViolation(f"{field} points at an internal address ({host})")
    return value

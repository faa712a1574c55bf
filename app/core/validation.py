"""Small validators shared by the services: email addresses and http(s) URLs."""

import re
from typing import Any
from urllib.parse import urlsplit

from app.core import outbound
from app.core.errors import RuleViolation

# No whitespace in either part, and (below) nothing unprintable: control characters (a trailing
# newline, CR LF header injection, NUL, which PostgreSQL refuses) and invisible format characters
# (zero-width space, bidi overrides) that make two different addresses look the same.
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
MAX_URL = 2048


def email(value: Any, message: str) -> str:
    """The one stored form of an email address (agent owners, approvers): surrounding spaces
    dropped, lowercased. fullmatch, not `$`, which would let a trailing newline through."""
    if not isinstance(value, str):
        raise RuleViolation(message)
    value = value.strip(" ")
    if not EMAIL.fullmatch(value) or not value.isprintable():
        raise RuleViolation(message)
    return value.lower()


def same_person(first: str | None, second: str | None) -> bool:
    """Whether two addresses reach the same mailbox owner, for the self-approval rule: case and
    surrounding whitespace ignored, and a +tag dropped (dana+bot@ is Dana). Also correct for
    rows stored before `email` normalised them."""
    a, b = _person(first), _person(second)
    return bool(a) and a == b


def _person(address: str | None) -> str:
    local, _, domain = (address or "").strip().lower().rpartition("@")
    if not local or not domain:
        return ""
    return f"{local.split('+', 1)[0] or local}@{domain}"


def http_url(value: Any, field: str) -> str:
    """An absolute http(s) URL without credentials that the service will call (webhooks,
    callbacks, JWKS). An internal IP literal or localhost is refused here when private URLs are
    not allowed; names are checked again when they are resolved (app/core/outbound.py)."""
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

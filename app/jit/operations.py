"""The operation a JIT token is bound to: RFC 8785 (JCS) canonical JSON and its SHA-256.

JCS is what makes the hash portable: `{"amount": 250.0}` from Python and `{"amount": 250}` from
JavaScript are one operation, keys sort by UTF-16 code units, strings are escaped one way. The
SDK hashes with the same library (`jitgate.operations`), so a resource server can compare a JIT
token's `operation_hash` offline.
"""

import hashlib
import json
from typing import Any

import rfc8785

from app.core.errors import RuleViolation

MAX_OPERATION_BYTES = 8 * 1024
MAX_DEPTH = 10


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Iterative, so a hostile nesting cannot exhaust the recursion limit before it is refused."""
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level + 1 > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return False


def canonical(operation: Any) -> bytes:
    """RFC 8785 canonical form (UTF-8 bytes)."""
    return rfc8785.dumps(operation)


def normalize(operation: Any) -> tuple[dict[str, Any], str]:
    """Validate an operation object and return it (in canonical values) with its hash."""
    operation = {} if operation is None else operation
    if not isinstance(operation, dict):
        raise RuleViolation("operation must be a JSON object")
    if _too_deep(operation):
        raise RuleViolation(f"operation nests deeper than {MAX_DEPTH} levels")
    try:
        text = canonical(operation)
    except rfc8785.IntegerDomainError as exc:
        raise RuleViolation(
            "operation has an integer beyond ±(2^53-1): send such numbers as strings"
        ) from exc
    except ValueError as exc:  # NaN/Infinity, lone surrogates, non-string keys
        raise RuleViolation(f"operation is not canonical JSON (RFC 8785): {exc}") from exc
    if len(text) > MAX_OPERATION_BYTES:
        raise RuleViolation(f"operation is larger than {MAX_OPERATION_BYTES} bytes")
    return json.loads(text), hashlib.sha256(text).hexdigest()


def operation_hash(operation: Any) -> str:
    return hashlib.sha256(canonical(operation or {})).hexdigest()

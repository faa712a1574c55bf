"""The operation a JIT token is bound to: canonical JSON and its SHA-256."""

import hashlib
import json
from typing import Any

from app.errors import RuleViolation

MAX_OPERATION_BYTES = 8 * 1024
MAX_DEPTH = 10


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def canonical(operation: Any) -> str:
    """RFC 8785-style canonical form: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        operation, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def normalize(operation: Any) -> tuple[dict[str, Any], str]:
    """Validate an operation object and return it with its hash."""
    operation = {} if operation is None else operation
    if not isinstance(operation, dict):
        raise RuleViolation("operation must be a JSON object")
    try:
        text = canonical(operation)
    except ValueError as exc:
        raise RuleViolation("operation must be plain JSON (no NaN or Infinity)") from exc
    if len(text.encode()) > MAX_OPERATION_BYTES:
        raise RuleViolation(f"operation is larger than {MAX_OPERATION_BYTES} bytes")
    if _depth(operation) > MAX_DEPTH:
        raise RuleViolation(f"operation nests deeper than {MAX_DEPTH} levels")
    return json.loads(text), operation_hash(operation)


def operation_hash(operation: Any) -> str:
    return hashlib.sha256(canonical(operation or {}).encode()).hexdigest()

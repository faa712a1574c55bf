"""The hash a JIT token binds its operation to: SHA-256 of RFC 8785 (JCS) canonical JSON.

The service hashes with the same library, so a resource server can compare a JIT token's
`jit.operation_hash` claim with the operation it is about to perform, offline, whatever
language produced the JSON (`250` and `250.0` are one number).
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785


def operation_hash(operation: dict[str, Any] | None) -> str:
    return hashlib.sha256(rfc8785.dumps(operation or {})).hexdigest()

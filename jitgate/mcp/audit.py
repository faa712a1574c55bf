"""Report each tool call and its outcome to jitgate's audit trail (POST /resources/tool-calls).

Written with the org's admin token (the server already holds it to read its tool map) and the
caller's own token, which jitgate checks is a token for this resource: the event then names the
agent. Arguments go along when they fit a JIT operation's limits; larger ones by hash alone.

Every call that runs must be recordable, so the gate checks a call's arguments first
(`checked_arguments`) and refuses one they cannot be hashed for: not I-JSON (an integer beyond
±(2^53-1), NaN), nested deeper than the service allows, or larger than MAX_CALL_BYTES. Such a
refusal is recorded without arguments or hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import rfc8785

log = logging.getLogger("jitgate.mcp")
MAX_ARGUMENT_BYTES = 8 * 1024  # the service's limit for an operation (app/jit/operations.py)
MAX_DEPTH = 10  # the service's nesting limit for an operation (app/jit/operations.py)
# A call's arguments are refused above this (compact JSON), before they are canonicalised or
# hashed: the work per call stays bounded whatever a caller sends.
MAX_CALL_BYTES = 64 * 1024
MAX_SENT_TOOL_CHARS = 1024  # the service's limit for a reported tool name
SUCCESS, ERROR, REFUSED = "success", "error", "refused"


@dataclass(frozen=True)
class CheckedArguments:
    """A call's operation in RFC 8785 form and its hash, or why it has none."""

    canonical: bytes | None = None
    digest: str | None = None
    refusal: str | None = None


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 0)]  # iterative: a hostile nesting cannot exhaust the recursion limit
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level + 1 > limit:
                return True
            stack.extend(
                (child, level + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return False


def checked_arguments(tool: str, arguments: dict[str, Any]) -> CheckedArguments:
    """Whether this call can be recorded (and so may run). CPU-bound: the gate runs it in a
    worker thread."""
    try:  # C-speed size check first: nothing larger is canonicalised or hashed
        size = len(json.dumps(arguments, ensure_ascii=False, separators=(",", ":")).encode())
    except RecursionError:
        return CheckedArguments(refusal=f"arguments nest deeper than {MAX_DEPTH} levels")
    except (ValueError, TypeError, UnicodeError) as exc:
        return CheckedArguments(refusal=f"arguments are not JSON: {type(exc).__name__}")
    if size > MAX_CALL_BYTES:
        return CheckedArguments(refusal=f"arguments are larger than {MAX_CALL_BYTES} bytes")
    operation = {"tool": tool, "arguments": arguments}
    if _too_deep(operation):
        return CheckedArguments(refusal=f"arguments nest deeper than {MAX_DEPTH} levels")
    try:
        canonical = rfc8785.dumps(operation)
    except rfc8785.IntegerDomainError:
        return CheckedArguments(
            refusal="arguments have an integer beyond ±(2^53-1): send such numbers as strings"
        )
    except (ValueError, TypeError, UnicodeError) as exc:  # NaN/Infinity, lone surrogates
        return CheckedArguments(refusal=f"arguments are not canonical JSON (RFC 8785): {exc}")
    return CheckedArguments(canonical=canonical, digest=hashlib.sha256(canonical).hexdigest())


def sendable_name(tool: str) -> str:
    """The caller chose the name: non-printable characters (NUL, lone surrogates) escaped, and
    cut to what the service takes. It then differs from the name the hash covers."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in tool)
    return shown[:MAX_SENT_TOOL_CHARS]


@dataclass
class CallRecord:
    """What happened to one tools/call."""

    tool: str
    arguments: dict[str, Any]
    outcome: str
    reason: str = ""
    jit_request_id: str | None = None
    checked: CheckedArguments | None = None


class ToolCallReporter:
    """Posts CallRecords; a failure to record is logged (the call's result still goes back)."""

    def __init__(
        self, *, api: str, resource_uri: str, admin_token: str | None, http: httpx.AsyncClient
    ) -> None:
        self.url = f"{api}/resources/tool-calls"
        self.resource_uri = resource_uri
        self.admin_token = admin_token
        self.http = http
        if admin_token is None:
            log.warning("no admin token: tool calls on %s are not audited", resource_uri)

    def body(self, record: CallRecord, caller_token: str) -> dict[str, Any]:
        checked = record.checked or checked_arguments(record.tool, record.arguments)
        body: dict[str, Any] = {
            "resource": self.resource_uri,
            "token": caller_token,
            "tool": sendable_name(record.tool),
            "outcome": record.outcome if checked.digest is not None else REFUSED,
            "reason": record.reason[:1000],
        }
        if checked.digest is not None:  # else refused: the arguments have no hash
            body["operation_hash"] = checked.digest
            fits = checked.canonical is not None and len(checked.canonical) <= MAX_ARGUMENT_BYTES
            if fits and body["tool"] == record.tool:  # checkable against the hash
                body["arguments"] = record.arguments
        if record.jit_request_id is not None:
            body["jit_request_id"] = record.jit_request_id
        return body

    async def report(self, record: CallRecord, caller_token: str) -> bool:
        if self.admin_token is None:
            return False
        body = self.body(record, caller_token)
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        try:
            response = await self.http.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            log.error("tool call %s not audited: %s", record.tool, type(exc).__name__)
            return False
        if response.status_code != 201:
            log.error("tool call %s not audited: %s", record.tool, response.text[:300])
            return False
        return True

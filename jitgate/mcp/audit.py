"""Report each tool call and its outcome to jitgate's audit trail (POST /resources/tool-calls).

Written with the org's admin token (the server already holds it to read its tool map) and the
caller's own token, which jitgate checks is a token for this resource: the event then names the
agent. Arguments go along when they fit a JIT operation's limits; larger ones by hash alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
import rfc8785

from jitgate.operations import operation_hash

log = logging.getLogger("jitgate.mcp")
MAX_ARGUMENT_BYTES = 8 * 1024  # the service's limit for an operation (app/jit/operations.py)
SUCCESS, ERROR, REFUSED = "success", "error", "refused"


@dataclass
class CallRecord:
    """What happened to one tools/call."""

    tool: str
    arguments: dict[str, Any]
    outcome: str
    reason: str = ""
    jit_request_id: str | None = None


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

    def body(self, record: CallRecord, caller_token: str) -> dict[str, Any] | None:
        operation: dict[str, Any] = {"tool": record.tool, "arguments": record.arguments}
        try:
            canonical = rfc8785.dumps(operation)
        except (ValueError, TypeError):  # not I-JSON: no JIT tool could have had it either
            return None
        body: dict[str, Any] = {
            "resource": self.resource_uri,
            "token": caller_token,
            "tool": record.tool,
            "operation_hash": operation_hash(operation),
            "outcome": record.outcome,
            "reason": record.reason[:1000],
        }
        if len(canonical) <= MAX_ARGUMENT_BYTES:
            body["arguments"] = record.arguments
        if record.jit_request_id is not None:
            body["jit_request_id"] = record.jit_request_id
        return body

    async def report(self, record: CallRecord, caller_token: str) -> bool:
        if self.admin_token is None:
            return False
        body = self.body(record, caller_token)
        if body is None:
            log.warning("tool call %s not audited: arguments are not JSON (RFC 8785)", record.tool)
            return False
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

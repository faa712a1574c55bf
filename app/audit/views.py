"""The audit trail as pages and answers show it: an event's public form, and the dependency
that writes queued events before a reader looks."""

from typing import Annotated, Any

from fastapi import Depends

from app.audit import service as audit
from app.core.times import rfc3339


def flush_audit() -> None:
    """Runs before the session opens a transaction (see AuditWriter.flush)."""
    audit.writer.flush()


Flushed = Annotated[None, Depends(flush_audit)]


def public_event(event: audit.AuditEvent) -> dict[str, Any]:
    body = event.model_dump(exclude={"id"})
    return {**body, "ts": rfc3339(event.ts)}

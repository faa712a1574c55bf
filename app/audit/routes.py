"""The audit trail, for admins."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.audit import service as audit
from app.core.columns import aware
from app.http.deps import CurrentAdmin, OrgId, SessionDep

router = APIRouter(tags=["audit"])


def flush_audit() -> None:
    """Runs before the session opens a transaction (see AuditWriter.flush)."""
    audit.writer.flush()


Flushed = Annotated[None, Depends(flush_audit)]


@router.get("/audit")
def list_audit(
    _flushed: Flushed,
    org_id: OrgId,
    session: SessionDep,
    _admin: CurrentAdmin,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    events = audit.list_events(
        session, org_id=org_id, actor=actor, action=action, since=since, limit=limit
    )
    return {"events": [_public(e) for e in events]}


def _public(event: audit.AuditEvent) -> dict[str, Any]:
    body = event.model_dump(exclude={"id"})
    return {**body, "ts": aware(event.ts).isoformat()}


@router.get("/audit/verify")
def verify_audit(
    _flushed: Flushed, org_id: OrgId, session: SessionDep, _admin: CurrentAdmin
) -> dict[str, Any]:
    report = audit.verify_chain(session, org_id)
    return {
        "ok": report.broken_seq is None,
        "checked": report.checked,
        "broken_seq": report.broken_seq,
        "problem": report.problem,
    }

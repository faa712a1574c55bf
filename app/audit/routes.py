"""The audit trail, for admins."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.audit import service as audit
from app.audit.views import Flushed, public_event
from app.core.errors import InvalidRequest
from app.http.deps import CurrentAdmin, OrgId, SessionDep
from app.http.pagination import Cursor, Limit, decode_cursor, encode_cursor

router = APIRouter(tags=["audit"])


@router.get("/audit")
def list_audit(
    _flushed: Flushed,
    org_id: OrgId,
    session: SessionDep,
    _admin: CurrentAdmin,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Newest first; the cursor is the sequence number below which the next page starts."""
    before = decode_cursor(cursor)
    if before is not None and (type(before) is not int or not 0 < before < 2**63):
        raise InvalidRequest("cursor is not one this API gave out")
    events = audit.list_events(
        session,
        org_id=org_id,
        actor=actor,
        action=action,
        since=since,
        limit=limit + 1,
        before_seq=before,
    )
    chunk = events[:limit]
    more = len(events) > limit
    return {
        "items": [public_event(e) for e in chunk],
        "next_cursor": encode_cursor(chunk[-1].seq) if more else None,
    }


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

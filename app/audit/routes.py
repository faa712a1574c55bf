"""The audit trail, for admins."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.audit import service as audit
from app.audit import verification
from app.audit.views import Flushed, public_event
from app.http.deps import ADMIN_ONLY, OrgId, SessionDep
from app.http.pagination import Paging

router = APIRouter(tags=["audit"], dependencies=[ADMIN_ONLY])


@router.get("/audit")
def list_audit(
    _flushed: Flushed,
    org_id: OrgId,
    session: SessionDep,
    paging: Paging,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    """Newest first; the cursor is the sequence number below which the next page starts."""
    before = paging.after(lambda seq: type(seq) is int and 0 < seq < 2**63)
    events = audit.list_events(
        session,
        org_id=org_id,
        actor=actor,
        action=action,
        since=since,
        limit=paging.limit + 1,
        before_seq=before,
    )
    return paging.envelope(events, key=lambda e: e.seq, render=public_event)


@router.get("/audit/verify")
def verify_audit(_flushed: Flushed, org_id: OrgId, session: SessionDep) -> dict[str, Any]:
    report = verification.verify_chain(session, org_id)
    return {
        "ok": report.broken_seq is None,
        "checked": report.checked,
        "broken_seq": report.broken_seq,
        "problem": report.problem,
    }

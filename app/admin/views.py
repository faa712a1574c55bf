"""What the admin pages show: rendering with the dashboard's security headers, and the
read-only queries behind the overview, agent detail and audit pages."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

from app.admin.forms import FormState, attempt
from app.audit import chain_state
from app.audit import service as audit
from app.authz import policies
from app.dashboard.pages import HERE as DASHBOARD
from app.dashboard.pages import page_renderer, short_id
from app.dashboard.views import when
from app.models import Agent, AuditEvent, JitRequest, Org

HERE = Path(__file__).resolve().parent
# The admin pages extend the dashboard's page frame (dashboard/templates/_page.html).
templates = Jinja2Templates(directory=[HERE / "templates", DASHBOARD / "templates"])
templates.env.filters["short_id"] = short_id
templates.env.filters["when"] = when
DECISION_ACTIONS = ("authz.check", "authz.ask", "authz.evaluation")
PAGE_SIZE = 50
AGENT_PAGE_SIZE = 50


render = page_renderer(templates)


def org_name(session: Session, org_id: str) -> str:
    org = session.get(Org, org_id)
    return org.name if org else org_id


def agent_id_for(session: Session, org_id: str, typed: str) -> str | None:
    """The agent an admin typed, by id or by the name the agents page shows (None: no such
    name; an id is left for the service to look up)."""
    if typed.startswith("agt_"):
        return typed
    stmt = select(Agent.id).where(Agent.org_id == org_id, Agent.name == typed[:63])
    return session.exec(stmt).first()


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(stmt).one())


def overview(session: Session, org_id: str, now: datetime | None = None) -> dict[str, Any]:
    today = datetime.combine((now or datetime.now(UTC)).date(), time.min, tzinfo=UTC)
    agents = select(func.count()).select_from(Agent)
    pending = select(func.count()).select_from(JitRequest)
    decisions = select(func.count()).select_from(AuditEvent)
    chain = chain_state.latest(session, org_id)
    return {
        "agents": _count(session, agents.where(Agent.org_id == org_id, Agent.status != "deleted")),
        "pending": _count(
            session, pending.where(JitRequest.org_id == org_id, JitRequest.status == "pending")
        ),
        "decisions_today": _count(
            session,
            decisions.where(
                AuditEvent.org_id == org_id,
                col(AuditEvent.action).in_(DECISION_ACTIONS),
                col(AuditEvent.ts) >= today,
            ),
        ),
        "chain": chain,
    }


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def agents_page(
    session: Session, org_id: str, *, q: str = "", after: str = "", limit: int | None = None
) -> tuple[Sequence[Agent], str | None]:
    """One page of the org's agents by name, matching `q` in the name, id, owner or
    capabilities, and the name the next page starts after (keyset paging: an agent added
    meanwhile never shifts a page). The database filters and pages, so a large org costs one
    page of rows."""
    limit = limit or AGENT_PAGE_SIZE
    stmt = select(Agent).where(Agent.org_id == org_id, Agent.status != "deleted")
    needle = q.strip().lower()
    if needle:
        pattern = _like(needle)
        stmt = stmt.where(
            or_(
                col(Agent.name).like(pattern, escape="\\"),
                col(Agent.id).like(pattern, escape="\\"),
                func.lower(col(Agent.owner)).like(pattern, escape="\\"),
                cast(Agent.capabilities, String).like(pattern, escape="\\"),  # type: ignore[arg-type]
            )
        )
    if after:
        stmt = stmt.where(col(Agent.name) > after)
    rows = session.exec(stmt.order_by(col(Agent.name)).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].name if more and rows else None)


def recent_decisions(session: Session, org_id: str, agent_id: str) -> Sequence[AuditEvent]:
    """An agent's latest decisions: events it acted in or that name it as their target."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.org_id == org_id, AuditEvent.actor == agent_id)
        .order_by(col(AuditEvent.seq).desc())
        .limit(20)
    )
    return session.exec(stmt).all()


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""
    action: str = ""
    since: datetime | None = None
    before: int | None = None  # paging: events older than this sequence number

    def link(self, **changes: Any) -> str:
        from urllib.parse import urlencode

        # In UTC and to the second: the next page's filter is this one, whatever offset was typed
        since = self.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if self.since else ""
        params = {"actor": self.actor, "action": self.action, "since": since, **changes}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def audit_page(
    session: Session, org_id: str, query: AuditQuery, limit: int = PAGE_SIZE
) -> tuple[Sequence[AuditEvent], int | None]:
    """One page of the trail, newest first, and the sequence number the next page starts below."""
    where = col(AuditEvent.seq) < query.before if query.before else None
    rows = audit.list_events(
        session,
        org_id=org_id,
        actor=query.actor or None,
        action=query.action or None,
        since=query.since,
        limit=limit + 1,
        where=where,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)


def explanation(
    session: Session, org_id: str, permission: str
) -> tuple[FormState, policies.Explanation | None]:
    """The policies page's "which policy applies" box: the form and, when asked, the answer
    (policies.explain_for: the choice /authz/check makes, with the patterns it beat)."""
    form = FormState(values={"explain": permission})
    if not permission:
        return form, None

    def call() -> policies.Explanation:
        return policies.explain_for(session, org_id=org_id, permission=permission.strip())

    return form, attempt(session, form, call, aliases={"permission": "explain"})

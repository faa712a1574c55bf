"""Defining a permission of the catalog: the one path for the API and the admin portal."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.authz import catalog as permissions
from app.authz.catalog_cache import invalidate_catalog
from app.core.db import after_commit
from app.models import Permission


def define(
    session: Session,
    *,
    org_id: str,
    actor: str,
    permission: str,
    description: str | None,
    synonyms: Sequence[str],
) -> Permission:
    """Create or replace a catalog entry, audited; the Ask API rereads the catalog once the
    change commits (invalidating before the commit could reload the old entry)."""
    row = permissions.upsert(
        session, org_id=org_id, permission=permission, description=description, synonyms=synonyms
    )
    after_commit(session, lambda: invalidate_catalog(org_id))
    audit.record_success(session, org_id, actor, "permission.upsert", row.permission)
    return row


def public(row: Permission) -> dict[str, Any]:
    return {
        "permission": row.permission,
        "description": row.description,
        "synonyms": row.synonyms,
        "source": row.source,
    }

"""Permission names and the org's catalog (what the Ask API can map words to)."""

import re
from collections.abc import Iterable, Sequence

from sqlmodel import Session, select

from app.core.errors import RuleViolation
from app.models import Permission

PERMISSION = re.compile(r"^[a-z][a-z0-9_-]{0,63}(\.[a-z][a-z0-9_-]{0,63}){1,3}$")
PATTERN = re.compile(
    r"^([a-z][a-z0-9_-]{0,63}(\.[a-z][a-z0-9_-]{0,63}){1,3}|([a-z][a-z0-9_-]{0,63}\.){1,3}\*|\*)$"
)
MAX_CAPABILITIES = 200


def validate_permission(name: object, *, field: str = "permission") -> str:
    if not isinstance(name, str) or not PERMISSION.match(name):
        raise RuleViolation(
            f"{field} must be a dotted name like 'document.read' (lowercase letters, digits, '_' '-')"
        )
    return name


def validate_pattern(pattern: object) -> str:
    if not isinstance(pattern, str) or not PATTERN.match(pattern):
        raise RuleViolation("a policy pattern is a permission name or a prefix ending in '.*'")
    return pattern


def validate_capabilities(caps: object) -> list[str]:
    if not isinstance(caps, list) or len(caps) > MAX_CAPABILITIES:
        raise RuleViolation(f"capabilities must be a list of at most {MAX_CAPABILITIES} names")
    names = [validate_permission(c, field="each capability") for c in caps]
    return sorted(set(names))


def ensure_in_catalog(session: Session, *, org_id: str, names: Iterable[str], source: str) -> None:
    """Add names the catalog does not know yet; never overwrite an admin's description."""
    wanted = set(names)
    if not wanted:
        return
    stmt = select(Permission.permission).where(Permission.org_id == org_id)
    known = set(session.exec(stmt).all())
    for name in sorted(wanted - known):
        session.add(Permission(org_id=org_id, permission=name, source=source))
    session.flush()


def upsert(
    session: Session,
    *,
    org_id: str,
    permission: str,
    description: str | None,
    synonyms: Sequence[str],
) -> Permission:
    validate_permission(permission)
    if description is not None and len(description) > 2000:
        raise RuleViolation("description is at most 2000 characters")
    if len(synonyms) > 50 or any(not isinstance(s, str) or not 0 < len(s) <= 100 for s in synonyms):
        raise RuleViolation("synonyms: at most 50 phrases of 1 to 100 characters")
    stmt = select(Permission).where(
        Permission.org_id == org_id, Permission.permission == permission
    )
    row = session.exec(stmt).first() or Permission(org_id=org_id, permission=permission)
    row.description = description
    row.synonyms = list(dict.fromkeys(s.strip() for s in synonyms))
    row.source = "admin"
    session.add(row)
    session.flush()
    return row


def catalog(session: Session, *, org_id: str) -> Sequence[Permission]:
    stmt = select(Permission).where(Permission.org_id == org_id).order_by(Permission.permission)
    return session.exec(stmt).all()

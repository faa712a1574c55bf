"""Organizations and their admin tokens."""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.audit import service as audit
from app.core import validation
from app.core.columns import new_id, utcnow
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.secrets import ADMIN_TOKEN_PREFIX, hash_token, new_secret_token
from app.identity.keys import create_signing_key
from app.models import AdminToken, Org

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class IssuedAdminToken:
    token_id: str
    token: str  # shown once; only its hash is stored


def create_org(
    session: Session, *, name: str, slug: str | None = None, admin_email: str | None = None
) -> tuple[Org, IssuedAdminToken]:
    name = name.strip()
    if not name or len(name) > 200:
        raise RuleViolation("an organization name is 1 to 200 characters")
    if not name.isprintable():  # a new line would end up in email headers (sign-in links)
        raise RuleViolation("an organization name must be printable text, on one line")
    org_id = slug or new_id("org_")
    if slug is not None and not SLUG.match(slug):
        raise RuleViolation("an org slug is 2-63 characters of a-z, 0-9 and '-'")
    if session.get(Org, org_id) is not None:
        raise Conflict(f"organization {org_id} already exists")
    org = Org(id=org_id, name=name)
    session.add(org)
    session.flush()
    create_signing_key(session, org_id=org.id)
    issued = create_admin_token(session, org_id=org.id, label="initial", email=admin_email)
    audit.record_success(session, org.id, "cli", "org.create", org.id)
    return org, issued


def create_admin_token(
    session: Session,
    *,
    org_id: str,
    label: str = "",
    actor: str = "cli",
    email: str | None = None,
) -> IssuedAdminToken:
    """A new admin token (shown once). With `email`, its holder may also sign in to the portal
    by a one-time link sent to that address (app/admin/login_link.py)."""
    if label and not label.isprintable():  # NUL and control characters: a 500 on PostgreSQL
        raise RuleViolation("label must be printable text")
    if email is not None:
        email = validation.email(email, "email must be an email address")
    if session.get(Org, org_id) is None:
        raise NotFound(f"no organization {org_id}")
    token = new_secret_token(ADMIN_TOKEN_PREFIX)
    row = AdminToken(org_id=org_id, label=label[:200], token_hash=hash_token(token), email=email)
    session.add(row)
    session.flush()
    details = {"label": label, "email": email}
    audit.record_success(session, org_id, actor, "admin_token.create", row.id, details=details)
    return IssuedAdminToken(token_id=row.id, token=token)


def revoke_admin_token(
    session: Session, *, org_id: str, token_id: str, now: datetime | None = None, actor: str = "cli"
) -> AdminToken:
    row = session.get(AdminToken, token_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"no admin token {token_id} in {org_id}")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.add(row)
        audit.record_success(session, org_id, actor, "admin_token.revoke", token_id)
    return row

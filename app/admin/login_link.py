"""One-time portal sign-in links by email, for admins whose admin token carries an address.

Which addresses are admins': an admin token may carry an `email` (set when it is created, in the
portal, `jitgate orgs create --admin-email` or `jitgate admin-tokens create --email`). A link
signs in as that token, so everything a session opened with the token obeys applies to it:
revoking the token ends the session, and a link made before the revocation no longer works (it
carries a fingerprint of the token's hash, checked when it is used).

Only offered when SMTP is configured. A link expires after 10 minutes and works once: its nonce
is claimed with a compare-and-set (`SET NX` in Redis, or the durable store's add in embedded
mode, which a restart does not forget). Opening it only shows a button: mail scanners follow
links, and a GET must not sign anyone in. The answer to "email me a link" is the same whether
or not the address is known or the request was rate limited. Links are never logged: the
request log names route templates, and the sender logs only failures, without the message.
They are sent after the response by the approvers' links' sender (app/dashboard/door.py): a
slow or failing SMTP server never shows in the page, and its time does not tell whether the
address is an admin's.
"""

import logging
from dataclasses import dataclass
from email.message import EmailMessage

from sqlmodel import Session, col, select

from app.core.durable_store import durable_store
from app.core.kv import get_store
from app.core.secrets import constant_time_equal
from app.dashboard import login_link as login_links
from app.dashboard import session as shared
from app.identity import rate_limits
from app.models import AdminToken, Org

log = logging.getLogger(__name__)
PURPOSE = "admin-login-link"
LINK_SECONDS = 10 * 60
ADDRESS_RESEND_SECONDS = 60  # one link a minute to one address, whatever the org
ORG_LINKS_PER_HOUR = 20  # and at most this many an hour into one org
LINK_PATH = "/admin/login/link/"


@dataclass(frozen=True)
class LinkClaims:
    admin: str  # the admin token's id
    org: str
    exp: int
    nonce: str
    tok: str  # fingerprint of the token's hash: a rotated-away or replaced token fails it


LINKS = shared.LinkTokens(PURPOSE, LinkClaims, LINK_SECONDS)
read_token = LINKS.read


def make_token(admin: AdminToken, *, now: float | None = None) -> str:
    return LINKS.make(admin.token_hash, now=now, admin=admin.id, org=admin.org_id)


def admin_for(session: Session, claims: LinkClaims) -> AdminToken | None:
    """The admin token a link signs in as, while it is unrevoked and the one the link was for."""
    row = session.get(AdminToken, claims.admin) if isinstance(claims.admin, str) else None
    if row is None or row.org_id != claims.org or row.revoked_at is not None:
        return None
    fingerprint = shared.token_fingerprint(row.token_hash)
    return row if constant_time_equal(fingerprint, str(claims.tok)) else None


def use_once(claims: LinkClaims) -> bool:
    """True the first time a link is used, in any web process; False ever after."""
    return durable_store.add(f"admin-link-used:{claims.nonce}", LINK_SECONDS + 60)


def messages_for(session: Session, email: str) -> list[EmailMessage]:
    """One link per unrevoked admin token carrying the address, in any org. Rate limits (a
    limit, not a credential; they may start afresh after a restart): one request a minute per
    address, and ORG_LINKS_PER_HOUR links an hour into one org."""
    address = email.strip().lower()
    if not (3 <= len(address) <= 320 and "@" in address and address.isprintable()):
        return []
    stmt = select(AdminToken).where(
        AdminToken.email == address, col(AdminToken.revoked_at).is_(None)
    )
    rows = session.exec(stmt.order_by(AdminToken.created_at)).all()
    if not rows or not get_store().add(f"admin-link-sent:{address}", ADDRESS_RESEND_SECONDS):
        return []
    out = []
    for row in rows:
        if rate_limits.get_counter().hit(f"admin-links/{row.org_id}", ORG_LINKS_PER_HOUR, 3600):
            continue
        org = session.get(Org, row.org_id)
        try:
            out.append(_message(row, org.name if org else row.org_id, make_token(row)))
        except Exception as exc:  # noqa: BLE001 - the page's answer must not depend on it
            log.warning("could not build an admin sign-in link: %s", type(exc).__name__)
    return out


def _one_line(text: str) -> str:
    """Header-safe: runs of white space and control characters become one space (an org
    named before names had to be printable must not break the Subject header)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _message(admin: AdminToken, org_name: str, token: str) -> EmailMessage:
    url = login_links.link_url(LINK_PATH, token)
    text = (
        f"Open this link within {LINK_SECONDS // 60} minutes to sign in to the jitgate admin "
        f"portal of {org_name} (admin token {admin.label or admin.id}):\n\n{url}\n\n"
    )
    subject = f"Your jitgate admin sign-in link for {_one_line(org_name)}"
    return login_links.link_message(admin.email, subject, text)

"""One-time sign-in links by email, for approvers who do not have their token at hand.

Only offered when SMTP is configured (JITGATE_SMTP_HOST). The link names one approver, expires
after 15 minutes and works once (its nonce is recorded in the shared key-value store when
used, and in the database in embedded mode, so a restart does not make it work again). Opening it only shows a button: mail scanners follow links, and a GET must not sign
anyone in. The answer to "email me a link" is the same whether or not the address is known.
"""

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from app.core.durable_store import durable_store
from app.core.kv import get_store
from app.dashboard import session as sessions
from app.models import Approver
from app.settings import get_settings

log = logging.getLogger(__name__)
PURPOSE = "dashboard-login-link"
LINK_SECONDS = 15 * 60
RESEND_SECONDS = 60
LINK_PATH = "/dashboard/login/link/"


@dataclass(frozen=True)
class LinkClaims:
    approver: str
    org: str
    exp: int
    nonce: str
    tok: str


LINKS = sessions.LinkTokens(PURPOSE, LinkClaims, LINK_SECONDS)
read_token = LINKS.read


def make_token(approver: Approver, *, now: float | None = None) -> str:
    return LINKS.make(approver.token_hash, now=now, approver=approver.id, org=approver.org_id)


def use_once(claims: LinkClaims) -> bool:
    """True the first time a link is used, in any web process; False ever after."""
    return durable_store.add(f"dashboard-link-used:{claims.nonce}", LINK_SECONDS + 60)


def may_send_to(email: str) -> bool:
    """At most one link a minute per address: the form must not become a mail cannon. A rate
    limit, not a credential: it may start afresh after a restart."""
    return get_store().add(f"dashboard-link-sent:{email.lower()}", RESEND_SECONDS)


def link_url(path: str, token: str) -> str:
    return get_settings().public_url.rstrip("/") + path + token


def link_message(to: str | None, subject: str, text: str) -> EmailMessage:
    """A sign-in link's email, either portal's: `text` names the link (link_url), and the
    message ends saying it works once."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = get_settings().email_from
    msg["To"] = to
    msg["Message-ID"] = make_msgid(domain="jitgate")
    msg.set_content(text + "It works once. If you did not ask for it, ignore this message.\n")
    return msg


def message(approver: Approver, org_name: str, token: str) -> EmailMessage:
    text = (
        f"Hello {approver.name or approver.email},\n\n"
        f"Open this link within 15 minutes to sign in to the jitgate dashboard "
        f"for {org_name}:\n\n{link_url(LINK_PATH, token)}\n\n"
    )
    return link_message(approver.email, "Your jitgate sign-in link", text)


def send(messages: list[EmailMessage]) -> None:
    """Runs after the response: a slow or failing SMTP server never shows in the page."""
    from notifiers.base import NotifierRejected, NotifierUnavailable
    from notifiers.email.notifier import SmtpSender

    try:
        sender = SmtpSender(get_settings())
        for msg in messages:
            sender.send(msg)
    except (NotifierRejected, NotifierUnavailable) as exc:
        log.warning("could not send a sign-in link: %s", type(exc).__name__)

"""The email channel: one message per approver with signed links, sent over SMTP."""

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any, ClassVar

from app.settings import Settings, get_settings
from notifiers.base import NotifierRejected, NotifierUnavailable, RequestView, Target
from notifiers.email import message as wire
from notifiers.email.links import LinkAction, make_link

SMTP_TIMEOUT_SECONDS = 10
MESSAGE_ID_FIELD = "message_id"


class EmailNotConfigured(NotifierRejected):
    """No SMTP host: nothing can be sent until an operator sets JITGATE_SMTP_HOST."""


def _classify(exc: Exception) -> Exception:
    """4xx replies and broken connections are worth retrying; 5xx replies are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = all(400 <= code < 500 for code in codes)
        return (NotifierUnavailable if transient else NotifierRejected)("smtp: recipient refused")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return NotifierRejected("smtp: authentication failed")
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = NotifierUnavailable if 400 <= exc.smtp_code < 500 else NotifierRejected
        return kind(f"smtp: {exc.smtp_code} reply")
    return NotifierUnavailable(f"smtp unreachable: {type(exc).__name__}")


class SmtpSender:
    """One connection per message: approvals are rare, and a pooled connection goes stale."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise EmailNotConfigured("JITGATE_SMTP_HOST is not set")
        self._settings = settings

    def send(self, message: EmailMessage) -> None:
        try:
            self._send(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from exc

    def _send(self, message: EmailMessage) -> None:
        s = self._settings
        assert s.smtp_host is not None
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(message)


class EmailNotifier:
    slug: ClassVar[str] = "email"

    def __init__(self, settings: Settings | None = None, sender: SmtpSender | None = None) -> None:
        self._settings = settings or get_settings()
        self._sender = sender

    @property
    def sender(self) -> SmtpSender:
        if self._sender is None:
            self._sender = SmtpSender(self._settings)
        return self._sender

    def targets(self, request: RequestView) -> list[Target]:
        return [
            Target(address=approver.email, approver=approver)
            for approver in request.approvers
            if approver.email
        ]

    def announce(self, request: RequestView, target: Target) -> dict[str, Any] | None:
        if target.approver is None:  # links are signed per approver; no approver, no links
            raise NotifierRejected("email target without an approver")
        links = wire.DecisionLinks(
            approve_url=self._link(request, target.approver.approver_id, LinkAction.APPROVE),
            deny_url=self._link(request, target.approver.approver_id, LinkAction.DENY),
        )
        message = wire.request_message(
            request, sender=self._settings.email_from, recipient=target.address, links=links
        )
        self.sender.send(message)
        return {MESSAGE_ID_FIELD: message["Message-ID"]}

    def show_outcome(
        self, request: RequestView, target: Target, reference: dict[str, Any] | None
    ) -> None:
        """A follow-up in the thread; skipped when the first message never went out."""
        if not reference:
            return
        message = wire.outcome_message(
            request,
            sender=self._settings.email_from,
            recipient=target.address,
            in_reply_to=reference.get(MESSAGE_ID_FIELD),
        )
        self.sender.send(message)

    def _link(self, request: RequestView, approver_id: str, action: LinkAction) -> str:
        return make_link(
            self._settings.public_url,
            org_id=request.org_id,
            request_id=request.request_id,
            approver_id=approver_id,
            action=action,
            expires_at=request.pending_deadline,
        )

"""The email notifier against an SMTP server on loopback (aiosmtpd)."""

import pytest

from app.settings import Settings
from notifiers.base import NotifierRejected, NotifierUnavailable, Target
from notifiers.email.links import LinkAction, read_token
from notifiers.email.notifier import EmailNotifier
from tests.fakes.smtp import free_port
from tests.fakes.views import ALICE, BOB, decided, request_view


def notifier_for(smtp, **settings) -> EmailNotifier:
    values = {
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "email_from": "jitgate@jg.example",
        "public_url": "http://jg.example",
        **settings,
    }
    return EmailNotifier(settings=Settings(**values))


def test_targets_are_every_approver_with_an_email():
    targets = EmailNotifier(settings=Settings()).targets(request_view())
    assert [t.address for t in targets] == ["alice@example.com", "bob@example.com"]
    assert targets[0].approver == ALICE


def test_announce_mails_the_approver_links_signed_for_them(smtp_server):
    view = request_view()
    reference = notifier_for(smtp_server).announce(view, Target("alice@example.com", ALICE))
    [message] = smtp_server.messages
    assert message["To"] == "alice@example.com" and message["From"] == "jitgate@jg.example"
    text = message.get_body(("plain",)).get_content()
    urls = [w for w in text.split() if w.startswith("http://jg.example/approve-link/")]
    claims = [read_token(u.rsplit("/", 1)[1], now=view.created_at.timestamp()) for u in urls]
    assert [c.action for c in claims] == [LinkAction.APPROVE, LinkAction.DENY]
    assert {(c.approver_id, c.request_id, c.org_id) for c in claims} == {
        ("apr_alice", view.request_id, view.org_id)
    }
    assert all(c.expires_at == int(view.pending_deadline.timestamp()) for c in claims)
    assert reference == {"message_id": message["Message-ID"]}


def test_show_outcome_sends_a_follow_up_in_the_same_thread(smtp_server):
    notifier = notifier_for(smtp_server)
    target = Target("bob@example.com", BOB)
    reference = notifier.announce(request_view(), target)
    notifier.show_outcome(decided(request_view(), "denied", (ALICE, "deny")), target, reference)
    first, follow_up = smtp_server.messages
    assert follow_up["In-Reply-To"] == first["Message-ID"]
    assert "denied" in follow_up["Subject"]


def test_without_an_smtp_host_email_is_rejected_not_retried():
    with pytest.raises(NotifierRejected):
        EmailNotifier(settings=Settings(smtp_host=None)).announce(
            request_view(), Target("alice@example.com", ALICE)
        )


def test_an_unreachable_smtp_server_is_transient():
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port())  # nothing listens there
    with pytest.raises(NotifierUnavailable):
        EmailNotifier(settings=settings).announce(
            request_view(), Target("alice@example.com", ALICE)
        )


def test_a_target_without_an_approver_cannot_get_signed_links(smtp_server):
    with pytest.raises(NotifierRejected):
        notifier_for(smtp_server).announce(request_view(), Target("someone@example.com"))

"""Approvers decide by email: the message's link shows a confirmation page, its form decides."""

import re
import threading
import time

import pytest

from tests import factories
from tests.channels.flow import PERMISSION, add_approver, ask, status_of, wait_for

LINK = re.compile(r"http://testserver(/approve-link/[A-Za-z0-9_\-.]+)")


def email_policy(client, org, approvers, **extra):
    ids = [a["approver_id"] for a in approvers]
    return factories.set_policy(
        client, org, PERMISSION, "jit", approvers=ids, channels=["email"], **extra
    )


def links_for(smtp, recipient: str, request_id: str) -> tuple[str, str]:
    """The (approve, deny) paths from the text part of the mail sent to recipient."""

    def find():
        for message in smtp.messages:
            text = message.get_body(("plain",)).get_content()
            if message["To"] == recipient and request_id in text:
                return tuple(LINK.findall(text))
        return None

    approve, deny = wait_for(find)
    return approve, deny


@pytest.fixture
def alice(client, org):
    return add_approver(client, org, "alice")


def test_following_the_approve_link_and_confirming_approves(client, org, agent, smtp, alice):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, _deny = links_for(smtp, "alice@example.com", request_id)

    page = client.get(approve)
    assert page.status_code == 200 and "Approve this request?" in page.text
    assert "payments.authorize" in page.text and "4200" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert status_of(client, org, request_id)["status"] == "pending"  # GET changed nothing

    done = client.post(approve, data={"note": "fine by me"})
    assert done.status_code == 200 and "your decision is recorded" in done.text
    body = status_of(client, org, request_id)
    assert body["status"] == "approved"
    assert body["decisions"][0]["channel"] == "email"


def test_following_the_deny_link_and_confirming_denies_with_the_reason(
    client, org, agent, smtp, alice
):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    _approve, deny = links_for(smtp, "alice@example.com", request_id)
    assert "Deny this request?" in client.get(deny).text
    client.post(deny, data={"note": "not during the freeze"})
    body = status_of(client, org, request_id)
    assert body["status"] == "denied" and body["reason"] == "not during the freeze"


def test_a_used_link_shows_a_clear_page(client, org, agent, smtp, alice):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, deny = links_for(smtp, "alice@example.com", request_id)
    client.post(approve)
    for path in (approve, deny):
        again = client.get(path)
        assert again.status_code == 409 and "already decided" in again.text
        assert client.post(path).status_code == 409
    assert status_of(client, org, request_id)["status"] == "approved"


def test_a_link_for_a_request_decided_elsewhere_shows_it_is_decided(
    client, org, agent, smtp, alice
):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, _deny = links_for(smtp, "alice@example.com", request_id)
    client.post(f"{org.api}/jit/requests/{request_id}/cancel", headers=agent.bearer(client))
    assert client.get(approve).status_code == 409


def test_an_altered_link_is_invalid(client, org, agent, smtp, alice):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, deny = links_for(smtp, "alice@example.com", request_id)
    approve_claims, approve_mac = approve.rsplit("/", 1)[1].split(".")
    deny_claims, _ = deny.rsplit("/", 1)[1].split(".")
    forged = f"/approve-link/{deny_claims}.{approve_mac}"  # a deny with the approve link's MAC
    for path in (forged, "/approve-link/nonsense", approve + "x"):
        page = client.get(path)
        assert page.status_code == 404 and "not valid" in page.text
        assert client.post(path).status_code == 404
    assert status_of(client, org, request_id)["status"] == "pending"


def test_an_expired_link_shows_a_clear_page(client, org, agent, smtp, alice, monkeypatch):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, _deny = links_for(smtp, "alice@example.com", request_id)
    import notifiers.email.links as links

    later = links.clock() + 3600
    monkeypatch.setattr(links, "clock", lambda: later)
    page = client.get(approve)
    assert page.status_code == 410 and "expired" in page.text
    assert client.post(approve).status_code == 410


def test_each_approver_gets_links_only_they_can_use(client, org, agent, smtp, alice):
    bob = add_approver(client, org, "bob")
    email_policy(client, org, [alice, bob], approvals_required=2)
    request_id = ask(client, agent)["request_id"]
    alice_approve, _ = links_for(smtp, "alice@example.com", request_id)
    bob_approve, _ = links_for(smtp, "bob@example.com", request_id)
    assert alice_approve != bob_approve
    client.post(alice_approve)
    assert client.post(alice_approve).status_code == 409  # alice cannot approve twice
    assert status_of(client, org, request_id)["status"] == "pending"
    client.post(bob_approve)
    assert status_of(client, org, request_id)["status"] == "approved"


def test_the_outcome_is_mailed_in_the_same_thread(client, org, agent, smtp, alice):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, _ = links_for(smtp, "alice@example.com", request_id)
    announcement = next(
        m for m in smtp.messages if request_id in m.get_body(("plain",)).get_content()
    )
    client.post(approve)
    # This request's thread only: an earlier test's late outcome can reach this mailbox too (the
    # embedded worker sends to whichever SMTP server the settings name when it runs).
    follow_up = wait_for(
        lambda: [m for m in smtp.messages if m["In-Reply-To"] == announcement["Message-ID"]]
    )
    assert "approved" in follow_up[0]["Subject"]


def test_a_decision_made_while_the_announcement_goes_out_still_gets_its_follow_up(
    client, org, agent, smtp, alice, monkeypatch
):
    # The approval lands after the message left but before the delivery was recorded as sent,
    # and its outcome task runs at once (as on another worker), finding no announcement to
    # follow up.
    from app.core import task_queue
    from app.core.db import session_scope
    from app.jit import state_machine as jit
    from app.models import Approver
    from notifiers.email.notifier import EmailNotifier
    from workers import deliveries, enqueue

    real_send, real_announce = enqueue.send, EmailNotifier.announce

    def outcome_runs_at_once(task_name, *args, **options):
        if task_name == task_queue.NOTIFY_OUTCOME:
            deliveries.show_outcome(*args)
        else:
            real_send(task_name, *args, **options)

    def announce_then_decided(self, request, target):
        reference = real_announce(self, request, target)
        with session_scope() as session:
            approver = session.get(Approver, alice["approver_id"])
            jit.decide(
                session, request_id=request.request_id, approver=approver, decision=jit.APPROVE
            )
        return reference

    monkeypatch.setattr(EmailNotifier, "announce", announce_then_decided)
    monkeypatch.setattr(task_queue, "_sender", outcome_runs_at_once)
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]

    def about_this_request():  # the SMTP server is shared with the other tests of this file
        return [m for m in smtp.messages if request_id in m.get_body(("plain",)).get_content()]

    follow_ups = wait_for(lambda: [m for m in about_this_request() if m["In-Reply-To"]])
    assert "approved" in follow_ups[0]["Subject"]
    first = next(m for m in about_this_request() if not m["In-Reply-To"])
    assert follow_ups[0]["In-Reply-To"] == first["Message-ID"]
    time.sleep(0.5)  # a second follow-up, if any, would have arrived by now
    assert len([m for m in about_this_request() if m["In-Reply-To"]]) == 1


def test_outcome_tasks_running_at_once_send_one_follow_up(
    client, org, agent, smtp, alice, monkeypatch
):
    # Three copies of the outcome work at the same moment (the worker's task and two more, as a
    # redelivery or a second worker would run them) while the send is slow: one posts.
    from notifiers.base import NotifierUnavailable
    from notifiers.email.notifier import EmailNotifier
    from workers import deliveries

    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, _ = links_for(smtp, "alice@example.com", request_id)
    real_show_outcome = EmailNotifier.show_outcome

    def slow_show_outcome(self, request, target, reference):
        time.sleep(0.5)
        return real_show_outcome(self, request, target, reference)

    monkeypatch.setattr(EmailNotifier, "show_outcome", slow_show_outcome)
    client.post(approve)
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(deliveries.show_outcome(request_id))
        except NotifierUnavailable as exc:  # busy elsewhere: the task would retry later
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def follow_ups():
        return [
            m
            for m in smtp.messages
            if m["In-Reply-To"] and request_id in m.get_body(("plain",)).get_content()
        ]

    wait_for(follow_ups)
    time.sleep(1.0)  # a duplicate, if any, would have arrived by now
    assert len(follow_ups()) == 1, outcomes


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_a_link_of_an_approver_no_longer_active_decides_nothing(
    client, org, agent, smtp, alice, how
):
    email_policy(client, org, [alice])
    request_id = ask(client, agent)["request_id"]
    approve, _deny = links_for(smtp, "alice@example.com", request_id)
    url = f"{org.api}/approvers/{alice['approver_id']}"
    if how == "disabled":
        resp = client.patch(url, json={"status": "disabled"}, headers=org.admin)
    else:
        resp = client.delete(url, headers=org.admin)
    assert resp.status_code == 200, resp.text

    page = client.get(approve)
    done = client.post(approve, data={"note": "fine by me"})

    assert page.status_code == 403 and "Approve this request?" not in page.text
    assert done.status_code == 403 and "not recorded" in done.text
    assert status_of(client, org, request_id)["status"] == "pending"

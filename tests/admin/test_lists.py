"""Large orgs in the portal: the agent list is searched and paged by the database, and the
overview verifies the audit chain incrementally from the last verified head."""

import html
import re
import uuid

import pytest

from app.admin import views
from app.audit import chain_state, verification
from app.core.db import get_engine
from tests import factories
from tests.admin.conftest import admin_login
from tests.test_audit import tamper


def _names(page: str) -> list[str]:
    return re.findall(r'<td><a href="/admin/agents/agt_[a-z0-9]+">([^<]+)</a>', page)


@pytest.fixture
def fleet(client, other_org):
    """An org of its own with seven agents (the shared test database holds other orgs' too)."""
    prefix = uuid.uuid4().hex[:6]
    agents = [
        factories.register_agent(
            client,
            other_org,
            name=f"{prefix}-bot-{i}",
            capabilities=["payments.refund"] if i % 2 else ["document.read"],
        )
        for i in range(7)
    ]
    return other_org, agents


def test_agents_are_paged_by_name_without_gaps_or_repeats(browser, fleet, monkeypatch):
    org, agents = fleet
    monkeypatch.setattr(views, "AGENT_PAGE_SIZE", 3)
    assert admin_login(browser, org.admin_token).status_code == 303
    seen, url = [], "/admin/agents"
    while url:
        page = browser.get(url).text
        names = _names(page)
        assert len(names) <= 3
        seen += names
        found = re.search(r'href="(/admin/agents\?[^"]*after=[^"]*)" id="next-page"', page)
        url = html.unescape(found.group(1)) if found else ""
    assert seen == sorted(a.name for a in agents)


def test_search_finds_by_name_capability_and_id_and_takes_wildcards_literally(browser, fleet):
    org, agents = fleet
    assert admin_login(browser, org.admin_token).status_code == 303
    by_capability = _names(browser.get("/admin/agents", params={"q": "payments.refund"}).text)
    assert by_capability == sorted(a.name for i, a in enumerate(agents) if i % 2)
    assert _names(browser.get("/admin/agents", params={"q": agents[4].agent_id}).text) == [
        agents[4].name
    ]
    assert _names(browser.get("/admin/agents", params={"q": "bot-5"}).text) == [agents[5].name]
    # A LIKE wildcard typed by the admin is a character, not "anything"
    assert _names(browser.get("/admin/agents", params={"q": "%"}).text) == []
    assert _names(browser.get("/admin/agents", params={"q": "bot_"}).text) == []


def test_search_is_paged_too(browser, fleet, monkeypatch):
    org, agents = fleet
    monkeypatch.setattr(views, "AGENT_PAGE_SIZE", 2)
    assert admin_login(browser, org.admin_token).status_code == 303
    first = browser.get("/admin/agents", params={"q": "payments.refund"}).text
    assert len(_names(first)) == 2 and 'id="next-page"' in first
    assert "q=payments.refund" in re.search(r'href="([^"]*)" id="next-page"', first).group(1)


# --- the overview's chain check ---------------------------------------------------------------


def _session():
    from sqlmodel import Session

    return Session(get_engine())


def test_overview_checks_new_events_only_after_a_full_check(admin, org, client):
    chain_state.forget()
    first = admin.get("/admin/overview").text
    assert "The whole chain was verified now." in first
    # Given an old event edited after that full check
    tamper(org.org_id, 1, reason="edited")
    factories.register_agent(client, org, capabilities=["document.read"])  # new events
    # When the overview loads again, it checks the new events only (the edit is not among them)
    again = admin.get("/admin/overview").text
    assert "Audit chain intact" in again and "last verified" in again
    # Then the button's full check names the edited event
    button = admin.get("/admin/audit?verify=1").text
    assert "The chain is broken at event 1:" in button
    # And the overview, having lost its verified head, checks everything from then on
    assert "Audit chain broken at event 1" in admin.get("/admin/overview").text


def test_an_edited_new_event_is_found_by_the_overview(admin, org, client):
    chain_state.forget()
    admin.get("/admin/overview")
    factories.register_agent(client, org, capabilities=["document.read"])
    with _session() as session:
        newest = verification.verify_chain(session, org.org_id).checked
    tamper(org.org_id, newest, reason="edited")
    page = admin.get("/admin/overview").text
    assert f"Audit chain broken at event {newest}" in page


def test_an_edit_of_the_verified_head_is_found_by_the_overview(admin, org):
    chain_state.forget()
    admin.get("/admin/overview")
    with _session() as session:
        state = chain_state.latest(session, org.org_id)
    head = state.report.checked
    tamper(org.org_id, head, hash="f" * 64)
    page = admin.get("/admin/overview").text
    assert "Audit chain broken at event" in page


def test_incremental_and_full_checks_agree_on_an_intact_chain(org, client):
    chain_state.forget()
    with _session() as session:
        full = chain_state.verify_all(session, org.org_id).report
    factories.register_agent(client, org, capabilities=["document.read"])
    with _session() as session:
        step = chain_state.latest(session, org.org_id)
        whole = verification.verify_chain(session, org.org_id)
    assert step.incremental and step.report.broken_seq is None
    assert step.report.checked == whole.checked > full.checked
    assert step.report.last_hash == whole.last_hash


def test_a_content_edit_of_the_verified_head_is_found_by_the_overview(admin, org):
    # The stored hash is kept: only recomputing it from the row finds the edit (review 13, L1)
    chain_state.forget()
    admin.get("/admin/overview")
    with _session() as session:
        head = chain_state.latest(session, org.org_id).report.checked
    tamper(org.org_id, head, reason="edited after the check")
    page = admin.get("/admin/overview").text
    assert f"Audit chain broken at event {head}" in page
    assert "changed" in page


def _rewind(org_id: str, keep: int) -> None:
    """Cut the chain after event `keep` and move the org's head back to it: a shorter chain
    that is consistent in itself."""
    from sqlalchemy import text

    with get_engine().begin() as conn:
        head = conn.execute(
            text("SELECT hash FROM audit_event WHERE org_id = :o AND seq = :s"),
            {"o": org_id, "s": keep},
        ).scalar_one()
        conn.execute(
            text("DELETE FROM audit_event WHERE org_id = :o AND seq > :s"), {"o": org_id, "s": keep}
        )
        conn.execute(
            text("UPDATE org SET audit_seq = :s, audit_head = :h WHERE id = :o"),
            {"o": org_id, "s": keep, "h": head},
        )


def test_a_chain_cut_short_stays_reported_by_the_overview_and_the_button(admin, org, client):
    # Review 13, M1: the fallback full check passed on the shorter chain and forgot the head
    chain_state.forget()
    factories.register_agent(client, org, capabilities=["document.read"])
    admin.get("/admin/overview")
    with _session() as session:
        verified = chain_state.latest(session, org.org_id)
    seq, digest = verified.report.checked, verified.report.last_hash
    _rewind(org.org_id, seq - 2)
    with _session() as session:
        assert (
            verification.verify_chain(session, org.org_id).broken_seq is None
        )  # consistent in itself
    lost = f"the chain no longer contains the event verified at seq {seq} with hash {digest}"
    for _ in range(2):  # the first report must not erase the evidence for the next one
        overview = html.unescape(admin.get("/admin/overview").text)
        assert "Audit chain broken" in overview and lost in overview
        button = html.unescape(admin.get("/admin/audit?verify=1").text)
        assert "The chain is broken" in button and lost in button
    # New events appended to the cut chain do not make it pass either
    factories.register_agent(client, org, capabilities=["document.read"])
    assert lost in html.unescape(admin.get("/admin/overview").text)


def test_a_rewritten_verified_head_is_not_forgotten_by_the_full_check(admin, org, client):
    # A whole chain rewritten consistently from event 1 (here: re-hashed after an edit of the
    # head) passes a full check; the button still says the verified event is gone.
    chain_state.forget()
    admin.get("/admin/overview")
    with _session() as session:
        verified = chain_state.latest(session, org.org_id).report
    _rewind(org.org_id, verified.checked - 1)  # the verified head deleted ...
    factories.register_agent(client, org, capabilities=["document.read"])  # ... and replaced
    with _session() as session:
        again = verification.verify_chain(session, org.org_id)
    assert again.broken_seq is None and again.checked >= verified.checked
    button = html.unescape(admin.get("/admin/audit?verify=1").text)
    assert f"event verified at seq {verified.checked} with hash {verified.last_hash}" in button
    overview = html.unescape(admin.get("/admin/overview").text)
    assert f"Audit chain broken at event {verified.checked}" in overview


def test_a_break_found_by_the_full_check_keeps_the_overview_on_full_checks(admin, org, client):
    chain_state.forget()
    admin.get("/admin/overview")
    tamper(org.org_id, 1, reason="edited")
    assert "The chain is broken at event 1:" in admin.get("/admin/audit?verify=1").text
    factories.register_agent(client, org, capabilities=["document.read"])
    for _ in range(2):
        assert "Audit chain broken at event 1" in admin.get("/admin/overview").text

"""Large orgs in the portal: the agent list is searched and paged by the database, and the
overview verifies the audit chain incrementally from the last verified head."""

import html
import re
import uuid

import pytest

from app.admin import views
from app.audit import chain_state
from app.audit import service as audit
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
        newest = audit.verify_chain(session, org.org_id).checked
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
        whole = audit.verify_chain(session, org.org_id)
    assert step.incremental and step.report.broken_seq is None
    assert step.report.checked == whole.checked > full.checked
    assert step.report.last_hash == whole.last_hash

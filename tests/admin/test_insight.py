"""The policies page explains which policy applies to a permission (and which patterns lost),
and the catalog page shows how the Ask API reads a question for an agent, as a dry run."""

import html
import re

import pytest

from app.authz import policies
from app.authz.policies import PolicyRule
from tests import factories
from tests.admin.conftest import admin_login, post
from tests.dashboard.conftest import ORIGIN


def _field_error(page: str, name: str) -> str:
    match = re.search(rf'id="e-{name}"[^>]*>([^<]*)<', page)
    assert match, f"no error shown next to {name}"
    return html.unescape(match.group(1))


def _text(page: str, element_id: str, end: str = "</") -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?){end}', page, re.S)
    assert match, f"no #{element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


# --- which policy applies ---------------------------------------------------------------------


RULES = [
    PolicyRule("pol_all", "*", "deny"),
    PolicyRule("pol_pay", "payments.*", "jit"),
    PolicyRule("pol_refund", "payments.refund", "standing"),
    PolicyRule("pol_doc", "document.*", "standing"),
]


@pytest.mark.parametrize(
    "permission", ["payments.refund", "payments.charge", "document.read", "email.send", "x.y.z"]
)
def test_the_explanation_names_the_rule_the_checks_use(permission):
    explained = policies.explain(RULES, permission)
    assert explained.winner == policies.most_specific(RULES, permission)
    matched = {r.pattern for r in RULES if policies.matches(r.pattern, permission)}
    assert {r.pattern for r, _ in explained.beaten} == matched - {explained.winner.pattern}


def test_exact_beats_prefix_beats_star_and_each_loser_says_why():
    explained = policies.explain(RULES, "payments.refund")
    assert (explained.winner.pattern, explained.mode) == ("payments.refund", "standing")
    assert [r.pattern for r, _ in explained.beaten] == ["payments.*", "*"]
    assert all("exact name payments.refund beats" in why for _, why in explained.beaten)
    prefix = policies.explain(RULES, "payments.charge")
    assert prefix.mode == "jit" and prefix.beaten[0][1] == "the longer prefix payments.* beats *"


def test_no_matching_policy_means_standing():
    explained = policies.explain(RULES[1:], "email.send")
    assert explained.winner is None and explained.mode == "standing" and not explained.beaten


def test_policies_page_explains_a_permission_from_the_stored_policies(admin, client, org):
    factories.set_policy(client, org, "reports.*", "deny")
    factories.set_policy(client, org, "reports.read", "standing")
    page = admin.get("/admin/policies", params={"explain": "reports.read"}).text
    assert _text(page, "explained-mode") == "standing"
    assert _text(page, "explained-pattern") == "reports.read"
    assert "reports.* (deny): the exact name reports.read beats any pattern" in _text(
        page, "explained-beaten", "</ul>"
    )
    other = admin.get("/admin/policies", params={"explain": "reports.export"}).text
    assert _text(other, "explained-mode") == "deny"


def test_another_orgs_policies_do_not_explain_this_org(browser, client, org, other_org):
    factories.set_policy(client, other_org, "ledger.close", "deny")
    assert admin_login(browser, org.admin_token).status_code == 303
    page = browser.get("/admin/policies", params={"explain": "ledger.close"}).text
    assert _text(page, "explained-mode") == "standing"


def test_a_name_that_is_no_permission_is_refused_next_to_the_box(admin):
    page = admin.get("/admin/policies", params={"explain": "Not A Permission"})
    assert page.status_code == 200
    assert "dotted name" in _field_error(page.text, "explain")
    assert 'value="Not A Permission"' in page.text


# --- ask a question ---------------------------------------------------------------------------


@pytest.fixture
def refund_bot(client, org):
    agent = factories.register_agent(client, org, capabilities=["payments.refund", "document.read"])
    resp = client.post(
        f"{org.api}/permissions",
        json={
            "permission": "payments.refund",
            "description": "Refund a payment",
            "synonyms": ["refund an order"],
        },
        headers=org.admin,
    )
    assert resp.status_code == 201, resp.text
    factories.set_policy(client, org, "payments.refund", "deny")
    return agent


def _audit_actions(client, org) -> list[dict]:
    resp = client.get(f"{org.api}/audit", params={"limit": 50}, headers=org.admin)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def test_the_ask_box_answers_as_the_ask_api_would(admin, client, org, refund_bot):
    question = "Can I refund a payment and read documents?"
    page = post(admin, "/admin/catalog/ask", {"agent": refund_bot.name, "question": question})
    assert page.status_code == 200, page.text
    assert _text(page.text, "ask-allowed") == "Not allowed"
    reason = _text(page.text, "ask-reason")
    assert "payments.refund: denied by policy" in reason
    answer = page.text.split('id="ask-answer"')[1]
    assert "payments.refund" in answer and "document.read" in answer
    # And the agent itself, asking the API, gets the same reading and decision
    api = client.post(
        f"{org.api}/agents/ask", json={"question": question}, headers=refund_bot.bearer(client)
    ).json()
    assert api["reason"] == reason
    assert [p["permission"] for p in api["permissions"]] == ["payments.refund", "document.read"]


def test_the_catalog_page_has_one_ask_box_and_a_plain_title(admin, refund_bot):
    page = post(admin, "/admin/catalog/ask", {"agent": refund_bot.name, "question": "Read docs?"})
    assert page.status_code == 200, page.text
    assert "<title>Catalog · jitgate admin</title>" in page.text
    assert page.text.count('id="ask-answer"') == 1
    # its answer's cells are labelled for phone widths, like the portal's other tables
    answer = page.text.split('id="ask-answer"')[1]
    assert '<td data-label="Permission"><code>document.read</code></td>' in answer


def test_the_ask_box_is_a_dry_run_audited_as_the_admins_action(admin, client, org, refund_bot):
    post(
        admin, "/admin/catalog/ask", {"agent": refund_bot.agent_id, "question": "Read a document?"}
    )
    events = _audit_actions(client, org)
    preview = next(e for e in events if e["action"] == "authz.ask_preview")
    assert preview["actor"].startswith("adm_") and preview["target"] == refund_bot.agent_id
    assert preview["details"]["dry_run"] is True
    assert not any(e["action"] == "authz.ask" for e in events)  # nothing decided for the agent


def test_another_orgs_agent_cannot_be_asked_about(admin, client, other_org):
    theirs = factories.register_agent(client, other_org, capabilities=["document.read"])
    for typed in (theirs.agent_id, theirs.name):
        page = post(admin, "/admin/catalog/ask", {"agent": typed, "question": "Read a document?"})
        assert page.status_code == 422
        assert "no agent" in _field_error(page.text, "agent")
        assert f'value="{typed}"' in page.text


def test_an_empty_question_is_refused_next_to_the_field(admin, refund_bot):
    page = post(admin, "/admin/catalog/ask", {"agent": refund_bot.name, "question": "  "})
    assert page.status_code == 422
    assert "question" in _field_error(page.text, "question")


def test_the_ask_box_needs_the_csrf_token(admin, refund_bot):
    resp = admin.post(
        "/admin/catalog/ask",
        data={"agent": refund_bot.name, "question": "Refund an order?"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status_code == 403 and 'id="ask-answer"' not in resp.text

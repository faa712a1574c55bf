"""answer(): the interpreter proposes, `decide` (the /authz/check rules) decides."""

import pytest

from app.authz.ask import PermissionDecision, answer
from app.authz.interpreter import CatalogEntry, Interpretation, Mapping
from tests.ask.eval_harness import decider

SEED = "Can I read and summarize documents for user alice@acme.com?"
HELD = {"document.read", "document.summarize"}


def fixed(*mappings: Mapping, unresolved: tuple[str, ...] = ()):
    def interpreter(question, catalog):
        return Interpretation(tuple(mappings), unresolved, None, (), "test")

    return interpreter


def test_seed_question_is_allowed_with_both_permissions_and_alice(catalog):
    body = answer(question=SEED, catalog=catalog, decide=decider(HELD, {}))
    assert body["allowed"] is True
    assert {p["permission"] for p in body["permissions"]} == HELD
    assert body["on_behalf_of"] == "alice@acme.com"
    assert body["unresolved"] == []
    assert body["interpreter"] == "builtin"


def test_paraphrase_of_seed_question_answers_the_same(catalog):
    question = "Am I allowed to open and summarise files on behalf of alice@acme.com?"
    body = answer(question=question, catalog=catalog, decide=decider(HELD, {}))
    assert body["allowed"] is True
    assert {p["permission"] for p in body["permissions"]} == HELD
    assert body["on_behalf_of"] == "alice@acme.com"


def test_each_permission_explains_its_phrase_and_policy(catalog):
    body = answer(question=SEED, catalog=catalog, decide=decider(HELD, {"document.*": "standing"}))
    phrases = {p["permission"]: p["phrase"] for p in body["permissions"]}
    assert phrases == {
        "document.read": "read documents",
        "document.summarize": "summarize documents",
    }
    assert {p["policy_id"] for p in body["permissions"]} == {"document.*"}


def test_jit_permission_is_not_allowed_and_says_approval_is_required(catalog):
    body = answer(
        question="Can I pay invoices?",
        catalog=catalog,
        decide=decider({"invoices.pay"}, {"invoices.pay": "jit"}),
    )
    assert body["allowed"] is False
    assert body["permissions"][0]["jit_required"] is True
    assert "just-in-time" in body["reason"]


def test_one_denied_permission_denies_the_whole_question(catalog):
    body = answer(
        question="Can I read documents and delete them?",
        catalog=catalog,
        decide=decider({"document.read", "document.delete"}, {"document.delete": "deny"}),
    )
    assert body["allowed"] is False
    assert [p["allowed"] for p in body["permissions"]] == [True, False]


def test_anything_unresolved_denies_even_when_every_permission_is_allowed(catalog):
    body = answer(
        question="Can I read documents and frobnicate them?",
        catalog=catalog,
        decide=decider({"document.read"}, {}),
    )
    assert body["allowed"] is False
    assert body["unresolved"] == ["frobnicate documents"]
    assert "frobnicate" in body["reason"]


def test_no_permission_at_all_is_not_allowed():
    body = answer(
        question="hello",
        catalog=[CatalogEntry("document.read")],
        decide=lambda p: PermissionDecision(True, "granted"),
        interpreter=fixed(),
    )
    assert body["allowed"] is False


def test_a_permission_outside_the_catalog_from_any_interpreter_is_unresolved():
    asked: list[str] = []

    def decide(permission: str) -> PermissionDecision:
        asked.append(permission)
        return PermissionDecision(True, "granted")

    catalog = [CatalogEntry("document.read"), CatalogEntry("payments.*")]
    interpreter = fixed(
        Mapping("read documents", "document.read"),
        Mapping("pay", "payments.*"),
        Mapping("root", "admin.everything"),
    )
    body = answer(question="x", catalog=catalog, decide=decide, interpreter=interpreter)
    assert body["allowed"] is False
    assert asked == ["document.read"]
    assert body["unresolved"] == ["pay", "root"]


def test_a_reading_under_the_confidence_threshold_is_refused_but_still_decided():
    # given an interpreter unsure of its reading of a held, standing permission
    from app.authz.ask import MIN_CONFIDENCE

    unsure = fixed(Mapping("peruse the docs", "document.read", MIN_CONFIDENCE - 0.1))
    body = answer(
        question="x",
        catalog=[CatalogEntry("document.read")],
        decide=decider({"document.read"}, {}),
        interpreter=unsure,
    )
    # then the answer is no, says why, and still reports the permission with its own decision
    assert body["allowed"] is False
    assert body["confidence"] < MIN_CONFIDENCE
    assert "not sure enough" in body["reason"] and "document.read" in body["reason"]
    assert body["permissions"][0]["allowed"] is True
    assert body["permissions"][0]["confidence"] == pytest.approx(MIN_CONFIDENCE - 0.1)


def test_a_sure_reading_is_allowed_and_says_how_sure(catalog):
    body = answer(question=SEED, catalog=catalog, decide=decider(HELD, {}))
    assert body["allowed"] is True
    assert body["confidence"] == 1.0
    assert all(p["confidence"] == 1.0 for p in body["permissions"])


def test_every_permission_named_is_reported_with_its_own_decision_when_the_answer_is_no():
    catalog = [
        CatalogEntry("document.read"),
        CatalogEntry("invoices.pay"),
        CatalogEntry("document.delete"),
        CatalogEntry("email.send"),
    ]
    reading = fixed(
        Mapping("read", "document.read"),
        Mapping("pay", "invoices.pay"),
        Mapping("delete", "document.delete"),
        Mapping("send", "email.send"),
    )
    held = {"document.read", "invoices.pay", "document.delete"}
    policies = {"invoices.pay": "jit", "document.delete": "deny"}
    body = answer(
        question="x", catalog=catalog, decide=decider(held, policies), interpreter=reading
    )
    by_name = {p["permission"]: p for p in body["permissions"]}
    assert body["allowed"] is False and body["confidence"] == 1.0
    assert by_name["document.read"]["allowed"] is True
    assert by_name["invoices.pay"]["jit_required"] is True
    assert by_name["document.delete"]["policy_id"] == "document.delete"
    assert "capabilities" in by_name["email.send"]["reason"]
    assert "POST /jit/requests" in body["reason"]

"""The whole evaluation set: no false allows, and at least 95% of mapped sets exactly right."""

from collections import Counter

import pytest

from tests.ask.eval_harness import EVAL_SET, load, run

BLIND = EVAL_SET.parent / "blind"

CATEGORIES = {
    "direct",
    "paraphrase",
    "multi",
    "on_behalf_of",
    "not_granted",
    "jit",
    "policy_deny",
    "out_of_catalog",
    "adversarial",
    "negation",
    "typo",
    "empty_or_oversized",
    "non_english",
}


def test_eval_set_is_large_and_covers_every_kind_of_question(eval_data):
    kinds = Counter(case["category"] for case in eval_data["cases"])
    assert len(eval_data["cases"]) >= 150
    assert set(kinds) >= CATEGORIES
    assert 25 <= len([c for c in eval_data["catalog"] if "*" not in c["permission"]]) <= 40


def test_no_question_in_the_eval_set_is_allowed_when_it_should_not_be(eval_data):
    report = run(eval_data)
    assert report.false_allows == []


def test_exact_set_accuracy_is_at_least_95_percent(eval_data):
    report = run(eval_data)
    assert report.exact / report.total >= 0.95, report.misses


@pytest.mark.parametrize(
    "name",
    [
        "dev.json",
        "test.json",
        "test2.json",
        "test3.json",
        "test4.json",
        "test5.json",
        "test6.json",
        "test7.json",
    ],
)
def test_no_question_in_a_blind_set_is_allowed_when_it_should_not_be(name):
    # given a set a writer who never read the interpreter made (tests/ask/blind/README.md); each
    # held-back set was scored once, by hand, before it joined the suite as a regression set
    report = run(load(BLIND / name))
    # then nothing is allowed that should not be (before WordNet: 2 false allows on dev; test4
    # had 2 when first scored: a read out to a spreadsheet, a match on "room" of "room type")
    assert report.false_allows == []


# The interpreter's p99 (< 5 ms) is bench/ask_eval.py's to print: no timed assertion here.

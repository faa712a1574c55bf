"""A second action joined to an allowed one, in any wording, is asked too: it never vanishes."""

import pytest

from app.authz.ask import answer
from tests.ask.eval_harness import decider

FIRSTS = ["Can I read documents", "May I look at my emails", "Am I allowed to open the docs"]
# "them" must point at documents for these second actions to exist in the catalog.
DOC_FIRSTS = ["Can I read documents", "May I look at the documents", "Is it OK to open the files"]
JOINS = [
    " and ",
    " and then ",
    ", then ",
    "; ",
    ". Also, can I ",
    " as well as ",
    " plus ",
    " so that I can ",
    " in order to ",
    " before I ",
    " & ",
    ", and if possible ",
    " - and ",
    " and quietly ",
]
NOT_HELD = [
    "delete them",
    "send them to Bob",
    "share them",
    "frobnicate them",
    "leak them",
    "print them",
    "upload them to Dropbox",
    "wipe everything",
    "forward them",
    "email them to Carol",
    "pay the invoices",
    "export the contacts",
    "copy them",
    "destroy them",
    "rewrite them",
    "translate them",
    "say allowed",
    "book a meeting",
    "hand them over to Bob",
    "tear them up",
    "put them on the internet",
    "note them",
    "get rid of them",
    "post them to Slack",
    "text them to Bob",
    "ignore the policy",
]
ALSO_HELD = [
    "summarize them",
    "share them with Bob",
    "give a summary of them",
    "edit them",
    "draft an email",
    "send an email to Carol",
    "book a meeting",
    "reply to Bob",
    "check my calendar",
    "email Carol a summary",
]


@pytest.fixture(scope="module")
def ask(catalog, eval_data):
    def run(question: str, agent: str) -> dict:
        held = set(eval_data["agents"][agent])
        return answer(question=question, catalog=catalog, decide=decider(held, {}))

    return run


def test_a_second_action_the_agent_does_not_hold_is_never_dropped(ask):
    allowed = [
        f + j + s + "?"
        for f in FIRSTS
        for j in JOINS
        for s in NOT_HELD
        if ask(f + j + s + "?", "reader")["allowed"]
    ]
    assert allowed == []


def test_a_second_action_the_agent_holds_keeps_the_answer_allowed(ask):
    denied = [
        f + j + s + "?"
        for f in DOC_FIRSTS
        for j in JOINS
        for s in ALSO_HELD
        if not ask(f + j + s + "?", "office")["allowed"]
    ]
    assert denied == []

"""Review of issue 15's second pass: questions the new mechanisms answered allowed=true for,
though they ask for an action the agent may not do (or that the catalog cannot map).

Written against the regression set's catalog (tests/ask/eval_set.json), the blind dev set's
(tests/ask/blind/dev.json) and a made-up catalog below; each question was allowed on h-ask
and refused before it (bcf70ec), except where noted.
"""

from pathlib import Path

import pytest

from app.authz.ask import answer
from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret
from tests.ask.eval_harness import catalog_of, decider, load

_DEV = load(Path(__file__).with_name("blind") / "dev.json")


def _ask(data: dict, agent: str, question: str) -> dict:
    return answer(
        question=question,
        catalog=catalog_of(data),
        decide=decider(set(data["agents"][agent]), data["policies"]),
    )


# "office" holds document.read/create/update/share but not document.delete (jit, not held).
@pytest.mark.parametrize(
    "question",
    [
        # A passive "get" + participle in a question is asked, not said of someone else.
        "Can the document get deleted after I read it?",
        # Every nominal action of a group is asked, not only the first.
        "Is the deletion and creation of documents something I can do?",
        "Can I do the reading and the deleting of the documents?",
        # "other things" points at nothing asked: it is a new, unnamed action.
        "Can I read the docs and do other things?",
        # A negative question is no negation: "Am I not expected to delete it?" asks it.
        "Can I read the document? Am I not expected to delete it afterwards?",
        # A word in a verb's place before "them" acts on them, even one WordNet knows only as
        # a noun ("watermarks": h-ask's plural rule; "shard": allowed before too).
        "Can I read the docs and then watermarks them?",
        "Can I read the docs and then shard them?",
        # Allowed before too: an email's password is a secret (secrets.read, denied), not email.
        "Can I read the email password?",
        "Can I view the email credentials?",
    ],
)
def test_office_questions_not_allowed(eval_data, question):
    body = _ask(eval_data, "office", question)
    assert not body["allowed"], body


# "viewer" holds shipments/tickets/customers/logs/inventory/fleet reads only.
@pytest.mark.parametrize(
    "question",
    [
        # "bring up / pull up the server" starts it; the server is only a qualifier of
        # logs.read's "server logs".
        "Can I bring up the server?",
        "Can I bring up the production server again?",
        "Can I pull up the server?",
        # "do that for the vault": the place is a new target, not a pointer back.
        "Can I read the logs and then do that for the vault?",
        "Can I read the logs and do both?",
        "Can the server get restarted after I read the logs?",
        "Can I read the logs and then can the server get rebooted?",
        "Can I read the logs? I do not expect to restore the backup, or do I?",
    ],
)
def test_viewer_questions_not_allowed(question):
    body = _ask(_DEV, "viewer", question)
    assert not body["allowed"], body


# Allowed before h-ask too. "support" holds refunds.issue, which needs JIT approval.
@pytest.mark.parametrize(
    "question",
    [
        # "get the customer refunded" asks a refund (a causative, like "get X paged").
        "Can I read ticket 44, and get the customer refunded?",
        # "do the same for the refund" is a second action on a new target.
        "Can I reply to ticket 44 and do the same for the refund?",
    ],
)
def test_support_questions_not_allowed(question):
    body = _ask(_DEV, "support", question)
    assert not body["allowed"], body


# Approving a deletion or a cancellation authorises someone else's action; it is not doing it.
APPROVALS = [
    C("accounts.deletions.approve", "Approve account deletion requests"),
    C("accounts.read", "View customer accounts"),
    C("orders.cancellations.approve", "Approve order cancellation requests"),
    C("orders.read", "View orders"),
]


@pytest.mark.parametrize(
    "question",
    [
        "Can I delete the customer account?",
        "Can I delete account 5521?",
        "Is a deletion of account 5521 something I can do?",
        "Can I cancel order 123?",
    ],
)
def test_approving_a_request_is_not_doing_it(question):
    body = answer(
        question=question,
        catalog=APPROVALS,
        decide=decider({e.permission for e in APPROVALS}, {}),
    )
    assert not body["allowed"], body


@pytest.mark.parametrize(
    "question, wrong",
    [
        # "his" is Bob, not Alice: with another person named, the pronoun is not erased.
        ("Alice asked me to email the report to Bob on his behalf.", "Alice"),
        # Not names (allowed before too, but with no principal).
        ("Nobody asked me to send this email, can I?", "Nobody"),
        ("Everyone wants me to send the email.", "Everyone"),
        ("The CFO asked me to send the email. Can I?", "The CFO"),
        # "someone in Finance" is not a job title before a name.
        ("Can I send the email on behalf of someone in Finance?", "Finance"),
    ],
)
def test_on_behalf_of_names_no_wrong_person(catalog, question, wrong):
    got = interpret(question, catalog)
    assert got.on_behalf_of != wrong, got


# The head-noun rules above keep what the object's head does name: these stay allowed.
@pytest.mark.parametrize(
    "agent, question, permission",
    [
        ("viewer", "Can I pull up the server logs?", "logs.read"),
        ("viewer", "Can I search the application logs?", "logs.read"),
        ("support", "Can I update the customer's email address?", "customers.update"),
    ],
)
def test_head_noun_still_answers(agent, question, permission):
    body = _ask(_DEV, agent, question)
    assert body["allowed"], body
    assert [p["permission"] for p in body["permissions"]] == [permission]


@pytest.mark.parametrize("question", ["Can I read the email messages?", "Can I read my email?"])
def test_email_still_read(eval_data, question):
    body = _ask(eval_data, "office", question)
    assert body["allowed"], body
    assert [p["permission"] for p in body["permissions"]] == ["email.read"]


# The causative and "do the same" rules name the right action, and "do the same" with no new
# object still points back at what was asked.
@pytest.mark.parametrize(
    "question, permissions",
    [
        ("Can I read ticket 44 and get the customer refunded?", ["refunds.issue", "tickets.read"]),
        ("Can I reply to ticket 44 and do the same?", ["tickets.reply"]),
    ],
)
def test_support_actions_named(question, permissions):
    body = _ask(_DEV, "support", question)
    assert sorted(p["permission"] for p in body["permissions"]) == permissions, body
    assert body["unresolved"] == [], body


def test_do_the_same_for_a_new_object_is_unresolved():
    body = _ask(_DEV, "support", "Can I reply to ticket 44 and do the same for the refund?")
    assert not body["allowed"] and body["unresolved"], body

"""Issue 15: actions named by their noun, titles before names, descriptions without a verb.

A made-up catalog (a housing association's back office), so nothing here is one of the
evaluation sets' questions.
"""

import pytest

from app.authz.ask import MIN_CONFIDENCE
from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret

CATALOG = [
    C("tenants.read", "Look up a tenant's file and contact details"),
    C("repairs.refer", "Refer a repair to an outside contractor"),
    C("repairs.cancel", "Cancel a booked repair"),
    C("contractors.payments.release", "Release the weekly contractor payment run"),
    C("arrears.read", "Rent arrears by estate"),
    C("ledger.read", "Read the GL"),
    C("complaints.assign", "Assign a complaint to a housing officer"),
    C("quotes.approve", "Approve repair quotes"),
    C("permits.approve", "Approve/decline parking permit requests"),
    C("staff.onboard", "Set up a new starter (keys, badge, logins)"),
    C("roles.grant", "Give a user a role in the housing system"),
]


def _read(question: str):
    return interpret(question, CATALOG)


@pytest.mark.parametrize(
    "question, expected",
    [
        # A noun that names the action, with a vague verb or none at all.
        ("Is a referral to the roofer something I can do?", {"repairs.refer"}),
        (
            "Cancellation of the boiler repair on Friday - is that within my rights?",
            {"repairs.cancel"},
        ),
        # Releasing a payment run pays: payment <-> pay.
        ("Can I pay the contractors this week?", {"contractors.payments.release"}),
        # A description that opens with a noun, and a capitalised abbreviation in one.
        ("Can I see the arrears for the north estate?", {"arrears.read"}),
        ("Can I read the GL?", {"ledger.read"}),
        # A title's full stop ends no sentence: the name is no action.
        ("Can I look up the file for Mrs. Okonkwo?", {"tenants.read"}),
        ("Can I assign the complaint to Dr. Patel?", {"complaints.assign"}),
        # Everyday phrasal verbs of general English.
        ("Can I pull up the tenant's contact details?", {"tenants.read"}),
    ],
)
def test_reads(question, expected):
    got = _read(question)
    assert set(got.permissions) == expected, got
    assert not got.unresolved, got


@pytest.mark.parametrize(
    "question",
    [
        # The object is an action noun no entry describes: the place does not stand in for it.
        "Can I send a fax to the outside contractor?",
        # A noun that names an action the catalog lacks still fails closed.
        "Is a demolition of the garage block something I can do?",
        "Is an eviction of the tenant something I can do?",
        # "scrap" deletes, and the catalog deletes no repairs.
        "Can I scrap the booked repair?",
        # A vague verb with no action noun stays too vague.
        "Can I handle the tenant's file?",
    ],
)
def test_still_refused(question):
    got = _read(question)
    assert got.unresolved, got


@pytest.mark.parametrize(
    "question, who",
    [
        ("Priya Shah asked me to cancel the booked repair on her behalf. Can I?", "Priya Shah"),
        ("Tom Reed wants me to look up the tenant's contact details. Can I, for him?", "Tom Reed"),
        ("On behalf of estates manager Ada Obi, can I cancel the booked repair?", "Ada Obi"),
    ],
)
def test_who_asked_is_acted_for(question, who):
    got = _read(question)
    assert got.on_behalf_of == who, got
    assert got.permissions and not got.unresolved, got


def test_no_named_person_no_principal():
    # "my manager" names nobody, and "on her behalf" then has no one to point at.
    got = _read("My manager asked me to cancel the booked repair on her behalf. Can I?")
    assert got.on_behalf_of is None
    assert got.unresolved, got


def test_head_noun_alone_is_a_weak_guess():
    # "request" is only the head of "permit requests", and two entries approve things.
    weak = _read("Can I approve Ola's request from yesterday?")
    assert weak.unresolved or min(m.confidence for m in weak.mappings) < MIN_CONFIDENCE, weak
    sure = _read("Can I approve Ola's permit request?")
    assert sure.permissions == ("permits.approve",) and not sure.unresolved, sure
    assert min(m.confidence for m in sure.mappings) >= MIN_CONFIDENCE, sure


def test_a_place_naming_another_resource_leaves_two_readings():
    got = _read("Can I add the new starter to the caretaker role?")
    assert not got.permissions and got.unresolved, got
    assert "roles.grant" in got.reasons[0] and "staff.onboard" in got.reasons[0], got
    sure = _read("Can I set up the new starter with keys and a badge?")
    assert sure.permissions == ("staff.onboard",) and not sure.unresolved, sure


def test_an_id_owning_a_noun_is_one_phrase():
    # "tenant 4410's arrears" are arrears; the tenant named by its id is no second object.
    got = _read("Can I see tenant 4410's arrears?")
    assert got.permissions == ("arrears.read",) and not got.unresolved, got


def test_not_asking_to_rules_out_the_action_after_it():
    got = _read("Not asking to cancel anything - can I look up the tenant's file?")
    assert got.permissions == ("tenants.read",) and not got.unresolved, got


def test_dont_forget_to_still_asks():
    # Only verbs of intending carry a negation over "to": forgetting is not one.
    got = _read("Can I look up the tenant's file? Don't forget to cancel the booked repair.")
    assert set(got.permissions) == {"tenants.read", "repairs.cancel"}, got


def test_a_verb_taken_from_a_resource_noun_needs_its_object():
    # "Release the weekly contractor payment run" pays contractors, but "pay" alone names
    # nothing that entry's object confirms.
    got = _read("Can I pay?")
    assert not got.permissions and got.unresolved, got


@pytest.mark.parametrize(
    "question, expected",
    [
        # Everyday shorthand of general English, not the catalog's words.
        ("can I see the rent arrears by estate, thru the portal?", {"arrears.read"}),
        # A plural WordNet knows only by a base that is never a verb is a noun, not an action.
        ("Can I see arrears vs actuals?", {"arrears.read"}),
    ],
)
def test_shorthand_and_nouns(question, expected):
    got = _read(question)
    assert set(got.permissions) == expected and not got.unresolved, got


def test_do_that_points_back_at_the_actions_asked():
    got = _read("I need to cancel the booked repair and look up the tenant's file. Can I do that?")
    assert set(got.permissions) == {"repairs.cancel", "tenants.read"} and not got.unresolved, got
    # With nothing asked before it, "do that" stays too vague; "do everything" is too broad.
    assert _read("Can I do that?").unresolved
    assert _read("Can I look up the tenant's file and then do everything else?").unresolved

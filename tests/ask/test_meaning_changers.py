"""Issue 15: words that change what is asked are never dropped as harmless modifiers.

Two classes of false allow found by the fifth blind set, each fixed by a rule about language:
a destination turns reading into moving the data out ("pull the records out into a
spreadsheet"), and an object whose head noun the entry does not describe is no object of it,
whatever its modifiers ("a new visit type" is no visit). A made-up catalog (a veterinary
practice), so nothing here is one of the evaluation sets' questions.
"""

import pytest

from app.authz.ask import MIN_CONFIDENCE
from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret

CATALOG = [
    C("pets.read", "Pet records (owner, vaccinations, visit history)"),
    C("pets.export", "Pet list export (CSV)"),
    C("visits.create", "New clinic visit"),
    C("visits.modify", "Change time / visit type on an appointment"),
    C("invoices.read", "Client invoices"),
    C("kennels.read", "Look up kennel occupancy"),
    C("stock.order", "Order drugs from a wholesaler"),
    C("reminders.print", "Print appointment cards"),
    C("rewards.adjust", "Add/remove reward points"),
    C("scanners.start", "Start the X-ray scanner"),
    C("scanners.stop", "Shut down the X-ray scanner"),
    C("lostproperty.log", "Lost property book"),
    C("faults.create", "Log a fault for maintenance"),
]


def _read(question: str):
    return interpret(question, CATALOG)


def _sure(got) -> bool:
    return bool(got.mappings) and min(m.confidence for m in got.mappings) >= MIN_CONFIDENCE


def _sure_of(got, permission: str) -> bool:
    """Would the answer stand on this permission? Only when it is mapped, sure, and nothing is
    left unresolved."""
    return permission in got.permissions and not got.unresolved and _sure(got)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Can I pull the pet records out into a spreadsheet?", {"pets.export"}),
        ("Can I fetch the pet records to a CSV?", {"pets.export"}),
        # The first read has no destination: it stays a read beside the export.
        (
            "Can I view the pet records and get them into a spreadsheet file?",
            {"pets.read", "pets.export"},
        ),
    ],
)
def test_reading_out_to_a_destination_is_the_export_of_the_same_thing(question, expected):
    # given an entry that describes moving the pet records out (pets.export)
    got = _read(question)
    # then the question asks the export, never only the plain read
    assert set(got.permissions) == expected, got


@pytest.mark.parametrize(
    "question, read",
    [
        ("Can I get the client invoices down to my laptop?", "invoices.read"),
        ("Can I fetch the kennel occupancy out of the system?", "kennels.read"),
        ("Can I pull the client invoices into a spreadsheet?", "invoices.read"),
    ],
)
def test_reading_out_with_no_entry_for_that_transfer_fails_closed(question, read):
    # given no entry that moves invoices or kennel occupancy anywhere
    got = _read(question)
    # then the read is not what was asked: the question is refused, not allowed as a read
    assert got.unresolved, got
    assert read not in got.permissions, got


@pytest.mark.parametrize(
    "question, expected",
    [
        # "to" before a verb is a purpose, not a destination; "for" names whom it is for.
        ("Can I look up the kennel occupancy to plan the week?", {"kennels.read"}),
        ("Can I view the pet records for the owner?", {"pets.read"}),
        ("Can I look at the client invoices from last month?", {"invoices.read"}),
        # A verb that already moves things keeps its destination.
        ("Can I order drugs from the wholesaler to the clinic?", {"stock.order"}),
    ],
)
def test_reading_without_a_destination_stays_a_read(question, expected):
    got = _read(question)
    assert set(got.permissions) == expected, got
    assert not got.unresolved and _sure(got), got


@pytest.mark.parametrize(
    "question, guess",
    [
        # The head "type" is no visit: only the modifier "visit" (and "new") fit visits.create.
        ("Can I set up a new visit type called Dental?", "visits.create"),
        ("Can I create a clinic visit type?", "visits.create"),
        # Through WordNet too ("add" is read by the description's "Add/remove"): "tier" is
        # nothing the catalog knows, and "reward" only qualifies it.
        ("Can I add a new reward tier?", "rewards.adjust"),
        ("Can I add a reward tier for the puppy club?", "rewards.adjust"),
    ],
)
def test_a_modifier_noun_alone_does_not_choose_the_entry(question, guess):
    got = _read(question)
    assert not _sure_of(got, guess), got


@pytest.mark.parametrize(
    "question, expected",
    [
        # The head is the entry's own noun: the modifiers only say which one.
        ("Can I set up a new clinic visit for Rex?", {"visits.create"}),
        ("Can I change the visit type on Rex's appointment?", {"visits.modify"}),
        ("Can I read the owner's pet records?", {"pets.read"}),
        # A name given to the thing is no head of it: this visit is titled, not a record.
        ("Can I set up a new clinic visit titled 'Annual pet records'?", {"visits.create"}),
        # "cards" (a game, to WordNet) in the description is the plural of the question's card.
        ("Can I print an appointment card for Rex?", {"reminders.print"}),
        ("Can I add reward points for Rex's owner?", {"rewards.adjust"}),
    ],
)
def test_the_entrys_own_head_noun_still_chooses_it(question, expected):
    got = _read(question)
    assert set(got.permissions) == expected, got
    assert not got.unresolved and _sure(got), got


@pytest.mark.parametrize(
    "question, wrong",
    [
        # "the running scanner" is a scanner that runs: no ask to run (start) it; the verb
        # "shutdown" the catalog cannot read must not fall away for it.
        ("Can I shutdown the running scanner?", "scanners.start"),
        ("Can I shutdown the runing scanner?", "scanners.start"),
        # A place that another entry of the same verb names is a different target: "with
        # maintenance" is faults.create's, not the lost property book's.
        ("I won't touch the boiler myself, can I log it with maintenance?", "lostproperty.log"),
    ],
)
def test_a_word_that_changes_the_target_is_not_dropped(question, wrong):
    got = _read(question)
    assert not _sure_of(got, wrong), got


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Can I start the X-ray scanner?", {"scanners.start"}),
        ("Can I shut down the running scanner?", {"scanners.stop"}),
        ("Can I log the lost collar in the lost property book?", {"lostproperty.log"}),
    ],
)
def test_the_same_words_still_read_where_they_fit(question, expected):
    got = _read(question)
    assert set(got.permissions) == expected, got
    assert not got.unresolved and _sure(got), got


BILLING = [
    C("bills.read", "View pet and owner bills"),
    C("pets.read", "Look up a pet's chart and vaccinations"),
]


def test_the_admins_own_verb_does_not_choose_an_entry_by_a_modifier_alone():
    # given "view" opening bills.read, whose description names pets, while the chart is pets.read's
    got = interpret("Can I view the pet chart for Rex?", BILLING)
    # then "pet" alone does not make the chart a bill
    assert not _sure_of(got, "bills.read"), got


def test_the_admins_own_verb_still_reads_its_own_object():
    got = interpret("Can I view the owner bills?", BILLING)
    assert set(got.permissions) == {"bills.read"} and _sure(got), got

"""The interpreter reads verbs it was never given through WordNet, and still fails closed.

The catalog is written as an admin writes one: one-line descriptions, no synonyms. The
questions use verbs that appear in no hand list of the interpreter.
"""

import pytest

from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret, wordnet

CATALOG = [
    C("stock.read", "Check stock levels in a warehouse"),
    C("stock.transfer", "Move stock from one warehouse to another"),
    C("parcels.create", "Book a new parcel with a carrier"),
    C("hosts.provision", "Create a new virtual machine"),
    C("cases.read", "Read customer support cases"),
    C("incidents.create", "Open an incident in the on-call tool"),
    C("payouts.issue", "Issue a payout to a supplier"),
    C("files.read", "Read files in the shared drive"),
]


def _ask(question: str):
    return interpret(question, CATALOG)


@pytest.mark.parametrize(
    "question, expected",
    [
        # "relocate" is in no word list: WordNet says it is a kind of "move".
        ("Could I relocate stock from the overflow warehouse to the main one?", "stock.transfer"),
        # "open" is in the lexicon as a way to read; the admin wrote "Open an incident".
        ("Can I open an incident for the checkout errors?", "incidents.create"),
    ],
)
def test_a_verb_no_hand_list_names_maps_through_wordnet(question, expected):
    # given a catalog with descriptions only; when the question uses an everyday verb
    reading = _ask(question)
    # then it maps to the one permission whose action the verb names, with nothing unresolved
    assert reading.permissions == (expected,)
    assert reading.unresolved == ()


def test_an_adjective_in_a_description_does_not_pick_the_entry():
    # given "Book a new parcel" and "Create a new virtual machine"; when asked to create a VM
    reading = _ask("Can I create a new virtual machine for the analytics team?")
    # then "new" does not make it a parcel: the machine decides
    assert "parcels.create" not in reading.permissions


def test_the_admins_own_opening_verb_beats_a_reading_verb_of_the_same_word():
    # given "open" is also a way to read, and "Open an incident" is how the admin describes it
    reading = _ask("Am I allowed to open an incident in the on-call tool?")
    # then the question opens an incident; it does not read a support case
    assert reading.permissions == ("incidents.create",)


@pytest.mark.parametrize(
    "question",
    [
        "Can I translate files into French?",  # a WordNet sense of translate is "read"
        "Can I sell the stock?",
        "Permission granted. Can I relocate the printer?",  # object outside the catalog
    ],
)
def test_a_wordnet_reading_without_a_fitting_object_or_of_a_rare_sense_stays_refused(question):
    reading = _ask(question)
    assert reading.unresolved


def test_wordnet_data_ships_in_the_package_and_needs_no_network():
    # given the extract built by scripts/build_wordnet_data.py
    assert wordnet.DATA.is_file()
    # then it knows verb senses, hypernyms, noun->verb forms and parts of speech offline
    assert "boot" in wordnet.synonyms("reboot")
    assert "move" in wordnet.broader("relocate")
    assert "pay" in wordnet.noun_verbs("payment")
    assert wordnet.never_a_verb("quarterly") and not wordnet.never_a_verb("delete")


def test_a_common_word_is_never_corrected_into_a_catalog_word():
    # given a catalog that patches servers; "watch" is one letter from "patch"
    catalog = [C("servers.patch", "Patch a server"), C("logs.read", "Search server logs")]
    reading = interpret("Can I watch the server logs?", catalog)
    # then "watch" is a word of its own, not a typo: it never becomes servers.patch
    assert "servers.patch" not in reading.permissions
    # while a typo WordNet's corpus never uses is still corrected
    assert interpret("Can I ptach the server?", catalog).permissions == ("servers.patch",)
    assert wordnet.common("watch") and not wordnet.common("calender")


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Can I reprint the visitor badges?", "badges.print"),  # re- + a catalog action
        ("I'm not cancelling anything, just booking a parcel. Can I?", "parcels.create"),
    ],
)
def test_derived_verb_forms_read_as_the_catalog_action(question, expected):
    catalog = [*CATALOG, C("badges.print", "Print visitor badges")]
    reading = interpret(question, catalog)
    assert reading.permissions == (expected,)
    assert reading.unresolved == ()


def test_what_wordnet_remembers_of_a_question_s_words_is_bounded():
    # given more made-up words than the interpreter remembers, as a stream of questions may bring
    from app.authz.interpreter import wordnet as wn

    made_up = [f"zqx{n}word" for n in range(wn.WORDS_REMEMBERED + 500)]
    for word in made_up:
        wn.kinds(word, 4)
        wn.reach(word, 2)
        wn.synonyms(word)
        wn.broader(word)

    # then each per-word memory holds at most its bound, and real words still read the same
    for remembered in (wn.kinds, wn.reach, wn.synonyms, wn.broader):
        assert remembered.cache_info().currsize <= wn.WORDS_REMEMBERED
    assert wn.kinds("van", 4)["vehicle"] == 3

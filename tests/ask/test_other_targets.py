"""Words that change the target of a mapped verb (issue 15: an unmapped object or modifier does
not fail closed "unless it changes the meaning"), checked on a made-up catalog (a sports club's
office), not on any evaluation set's questions: each test names the rule, and its counter-case
keeps the plain reading."""

from app.authz.ask import MIN_CONFIDENCE
from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret

CATALOG = [
    C("members.records.read", "Member records"),
    C("members.records.export", "Bulk export of member data"),
    C("members.contact.update", "Update member phone/address"),
    C("finance.invoices.read", "Invoices"),
    C("coaching.sessions.book", "Book coaching sessions"),
    C("gym.lockers.renew", "Renew gym lockers"),
    C("rota.shifts.approve", "Approve member volunteer shifts"),
]


def _read(question: str, catalog=CATALOG):
    return interpret(question, catalog)


def _sure(got) -> bool:
    """Would the answer allow it, if every permission were held (ask.py's threshold)?"""
    lowest = min((m.confidence for m in got.mappings), default=0.0)
    return bool(got.mappings) and not got.unresolved and lowest * got.confidence >= MIN_CONFIDENCE


# A phrasal verb is read in its own sense before the bare verb's class.


def test_pulling_data_out_is_the_phrasal_sense_not_the_bare_verbs_read():
    # given "pull" reads, but "pull out" is "extract": moving the data out
    got = _read("Could I pull the member records out for the mailing house?")
    # then it is the export, never the read
    assert got.permissions == ("members.records.export",) and not got.unresolved, got


def test_a_phrasal_sense_the_catalog_lacks_does_not_fall_back_to_the_bare_verb():
    # given a catalog with no export: "pull out" cannot be read as the bare "pull"
    catalog = [e for e in CATALOG if e.permission != "members.records.export"]
    got = _read("Can I pull the member records out for the auditors?", catalog)
    # then the question fails closed
    assert got.unresolved, got


def test_a_phrasal_sense_the_bare_verb_does_not_share_is_no_read_and_no_guess():
    # given "pull off" is "pluck, tweak" (an update), a sense "pull" alone does not have
    got = _read("Can I pull the member records off the portal?")
    # then it is neither read as the bare "pull" nor guessed as an update
    assert got.unresolved and not got.permissions, got


def test_a_phrasal_verb_in_the_bare_verbs_own_sense_keeps_its_reading():
    got = _read("Could I pull up the member records for Ana Silva?")
    assert got.permissions == ("members.records.read",) and not got.unresolved, got


# A place that names another entry's own resource is a second target.


def test_a_place_naming_another_entrys_resource_leaves_two_readings_named():
    # given a read chosen by "member" alone (a volunteer is no member record), a place naming
    # the invoices entry's own resource
    got = _read("Can I see what the member volunteers were charged on the March invoices?")
    # then the answer is refused and names both candidates
    assert got.unresolved, got
    said = " ".join(got.reasons)
    assert "members.records.read" in said and "finance.invoices.read" in said, got


def test_a_place_the_catalog_does_not_name_is_a_detail_of_the_same_read():
    got = _read("Can I see the member records for the squash section?")
    assert got.permissions == ("members.records.read",) and not got.unresolved, got


def test_a_place_naming_the_chosen_entrys_own_words_is_no_rival():
    got = _read("Can I see the invoices in the members area?")
    assert "finance.invoices.read" in got.permissions, got


# An object whose head the entry does not name is no sure mapping.


def test_an_owner_that_only_qualifies_the_resource_does_not_make_its_object_the_entrys():
    # given "Renew gym lockers": the gym qualifies the lockers; the gym's insurance is no locker
    got = _read("Can I renew the gym's insurance policy?")
    # then the renewal of something else is not allowed as a locker renewal
    assert got.unresolved or not got.permissions, got


def test_the_entrys_own_object_still_maps():
    got = _read("Can I renew the gym locker for member 12?")
    assert got.permissions == ("gym.lockers.renew",) and not got.unresolved, got


def test_a_persons_object_of_the_entrys_resource_still_maps():
    got = _read("Can I renew Ana Silva's gym locker?")
    assert got.permissions == ("gym.lockers.renew",) and not got.unresolved, got


def test_a_plural_head_is_a_noun_even_when_its_singular_may_be_an_adjective():
    # given "Book coaching sessions": "prompts" may be an adjective as "prompt", not as a plural
    got = _read("Can I book the coaching feedback prompts?")
    # then the booking of another thing is not a sure session booking
    assert not _sure(got), got


def test_a_lower_case_word_no_dictionary_knows_is_another_thing_not_a_name():
    # given "Renew gym lockers": the gym's "waitlist" is no locker
    got = _read("Can I renew the gym waitlist?")
    assert not _sure(got), got


def test_shorthand_after_the_entrys_own_object_is_still_a_detail():
    got = _read("Need to renew a gym locker - rm 12. Allowed?")
    assert got.permissions == ("gym.lockers.renew",) and not got.unresolved, got

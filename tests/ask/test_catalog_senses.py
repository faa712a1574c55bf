"""Readings that come from the catalog as a whole and from the permission's dotted name,
checked on a made-up catalog (a community garden's office), not on any evaluation set's
questions: each test names the rule, and its counter-case keeps the reading closed."""

from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret

CATALOG = [
    C("members.read", "Member records"),
    C("members.open", "Sign up a new member"),
    C("members.close", "End a membership"),
    C("plots.read", "Garden plots"),
    C("plots.assign", "Give a plot to a member"),
    C("sheds.alarms.ack", "Ack shed alarms"),
    C("seeds.order", "Seed orders"),
    C("waterings.schedule", "Watering rota"),
    C("tools.lend", "Lend tools to members"),
]


def _read(question: str):
    return interpret(question, CATALOG)


def test_an_action_word_beside_a_sibling_of_its_first_sense_takes_its_other_sense():
    # given members.read and members.open side by side: "open" cannot also mean reading here
    got = _read("Can I view the member record for Ana Silva?")
    # then viewing is the read, not a second candidate
    assert got.permissions == ("members.read",) and not got.unresolved, got


def test_looking_up_is_reading_when_the_opening_sibling_creates():
    got = _read("Could I look up member 2231?")
    assert got.permissions == ("members.read",) and not got.unresolved, got


def test_the_other_sense_is_still_the_entry_own_word():
    got = _read("Can I open a member account for the new neighbour?")
    assert got.permissions == ("members.open",) and not got.unresolved, got


def test_an_open_without_a_reading_sibling_keeps_its_reading_sense():
    catalog = [C("files.open", "Open project files"), C("files.delete", "Delete files")]
    got = interpret("Can I view the project files?", catalog)
    assert got.permissions == ("files.open",) and not got.unresolved, got


def test_the_other_sense_is_not_reached_through_a_related_class():
    # "book" schedules; scheduling may stand in for creating, but "open" creates here only
    # because of its sibling: that guess is not stacked on another
    got = _read("Can I book a room for the new member?")
    assert not got.permissions, got

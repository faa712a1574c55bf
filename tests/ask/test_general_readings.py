"""General readings checked on a made-up catalog (a pet clinic), not on any evaluation set's
questions: each test names the rule, and its counter-case keeps the reading closed."""

from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret

CATALOG = [
    C("visits.read", "Look up bookings"),
    C("visits.cancel", "Cancel a booking"),
    C("kennels.status.update", "Kennel status (clean/dirty)"),
    C("roles.grant", "Grant a role"),
    C("staff.onboard", "Set up a new starter"),
    C("invoices.read", "Client invoices"),
    C("vaccines.order", "Order vaccines from the wholesaler"),
]


def _read(question: str):
    return interpret(question, CATALOG)


def test_a_place_that_only_qualifies_the_object_is_no_rival():
    # given "for kennel 4" names the booking's kennel, not where the booking goes
    got = _read("Can I cancel the booking for kennel 4 tonight?")
    # then the booking is what is cancelled
    assert got.permissions == ("visits.cancel",) and not got.unresolved, got


def test_a_place_the_object_goes_to_still_leaves_two_readings():
    got = _read("Can I add the new starter to the vet role?")
    assert not got.permissions and got.unresolved, got
    assert "roles.grant" in got.reasons[0] and "staff.onboard" in got.reasons[0], got


def test_a_form_after_the_object_is_no_second_object():
    # given "as a PDF" says in what form the invoices are read, not what else is read
    got = _read("Can I see the client invoices for March, as a PDF?")
    assert got.permissions == ("invoices.read",) and not got.unresolved, got


def test_a_role_the_descriptions_name_stays_the_object():
    # "as a new starter" names what "Set up a new starter" sets up
    got = _read("Can I set up Dr Okoro as a new starter?")
    assert got.permissions == ("staff.onboard",) and not got.unresolved, got

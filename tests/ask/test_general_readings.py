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
    C("clients.read", "Client account details"),
    C("clients.update", "Edit client contact details"),
    C("treatments.quote", "Send a quote for a treatment plan"),
    C("newsletters.send", "Email newsletters to the mailing list"),
    C("vets.assign", "Assign a vet to a visit"),
    C("consents.sign", "Sign consent forms"),
    C("vehicles.read", "View vehicle locations"),
    C("accounts.delete", "Delete a client account"),
    C("invoices.create", "Create client invoices"),
    C("labs.read", "Lab test results"),
    C("parcels.read", "View parcel details and tracking"),
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


def test_the_story_around_an_ask_asks_nothing():
    # given two sentences that only tell what happened, with verbs the catalog lacks
    got = _read(
        "A client rang the desk. She wants her dog seen today, and her son has said he'll "
        "bring the papers. Can I look up her bookings?"
    )
    # then only the asking sentence is read
    assert got.permissions == ("visits.read",) and not got.unresolved, got


def test_an_order_after_the_ask_is_still_read():
    got = _read("Can I look up the bookings? Then scrub the invoices.")
    assert got.unresolved, got


def test_a_question_pointing_back_asks_what_the_sentence_before_says():
    got = _read("Not cancelling anything, just reading the client invoices. Allowed?")
    assert got.permissions == ("invoices.read",) and not got.unresolved, got


def test_a_story_alone_is_read_whole():
    got = _read("The vet scrubbed the invoices yesterday.")
    assert got.unresolved and not got.permissions, got


def test_an_order_to_the_agent_in_the_third_person_is_still_read():
    # "must wipe", "deletes": an order or a present plan, not a story of what happened
    assert _read("Can I look up the bookings? The assistant must wipe the invoices.").unresolved
    assert _read("Can I look up the bookings? The assistant then deletes the invoices.").unresolved


def test_viewing_a_part_the_catalog_does_not_name_reads_its_owner():
    # given "paperwork" is nowhere in the catalog, and the client's account is
    got = _read("Can I view the client's paperwork?")
    # then reading a part of the client is reading the client, as a guess
    assert got.permissions == ("clients.read",) and not got.unresolved, got
    assert 0.7 <= got.mappings[0].confidence < 1.0, got
    # so is reading a part named by a noun the catalog knows qualifying it
    got = _read("Can I see the client paperwork?")
    assert got.permissions == ("clients.read",) and not got.unresolved, got


def test_a_physical_thing_of_the_owner_is_no_part_of_it():
    # "the client's parcel" is a thing of its own (WordNet: a physical entity)
    got = _read("Can I view the client's parcel?")
    assert "clients.read" not in got.permissions, got


def test_the_permissions_own_action_used_as_a_noun_is_its_object():
    # given "Send a quote for a treatment plan" uses the action "quote" as the thing sent
    got = _read("Can I send over the quote for Bella's dental work?")
    # then the quote is what is sent, not a bare "send" that an email entry could take
    assert got.permissions == ("treatments.quote",) and not got.unresolved, got


def test_a_noun_before_the_verb_is_its_subject_not_its_object():
    # given "the kennel" is who the story is about, and "the invoices" what is read
    got = _read("The kennel next door has flooded again, can I read the client invoices?")
    assert got.permissions == ("invoices.read",) and not got.unresolved, got


def test_a_topic_before_the_verb_is_still_what_a_pronoun_points_at():
    got = _read("The client invoices from March, can I read them?")
    assert got.permissions == ("invoices.read",) and not got.unresolved, got


def test_a_doubled_letter_typed_once_is_that_word():
    # given "asign" is one letter from "assign" and from "sign" (an extra "a")
    got = _read("Can I asign a vet to the visit?")
    # then the doubled letter typed once is the likelier slip
    assert got.permissions == ("vets.assign",) and not got.unresolved, got


def test_a_last_letter_left_off_is_that_word():
    # given "creat" is one letter from "create" (left off) and from "treat" (c for t)
    got = _read("Can I creat a client invoice?")
    assert got.permissions == ("invoices.create",) and not got.unresolved, got


def test_two_catalog_nouns_written_as_one_word_are_both():
    # given "Client invoices" writes "client" and "invoices" apart
    got = _read("Can I read the clientinvoices?")
    assert got.permissions == ("invoices.read",) and not got.unresolved, got


def test_acting_on_behalf_of_someone_is_all_one_phrase():
    got = _read("Acting on behalf of Priya Nair, can I read the client invoices?")
    assert got.on_behalf_of == "Priya Nair", got
    assert got.permissions == ("invoices.read",) and not got.unresolved, got
    got = _read("I'm covering for Sam Okafor today; can I read the client invoices?")
    assert got.on_behalf_of == "Sam Okafor", got
    assert got.permissions == ("invoices.read",) and not got.unresolved, got


def test_a_full_name_that_asks_is_a_person_whatever_its_words_mean():
    # "Grant" is a catalog action here (roles.grant), and "Pippa Grant" still a person
    got = _read("Pippa Grant asked me to read the client invoices on her behalf. Allowed?")
    assert got.on_behalf_of == "Pippa Grant", got
    assert got.permissions == ("invoices.read",) and not got.unresolved, got


def test_a_kind_of_the_resource_is_that_resource_as_a_guess():
    # given WordNet places a truck three steps below a vehicle
    got = _read("Can I see where the trucks are?")
    assert got.permissions == ("vehicles.read",) and not got.unresolved, got
    assert 0.7 <= got.mappings[0].confidence < 1.0, got


def test_another_name_in_some_sense_is_no_kind():
    # "history" shares a sense with "account" (a story), and is no kind of client account
    got = _read("Can I delete the visit history?")
    assert "accounts.delete" not in got.permissions, got


def test_reading_by_a_descriptions_head_noun_alone_is_one_guess():
    # given "results" is only the head of "test results", and no other reading entry has it
    got = _read("Can I see the results for Bella?")
    assert got.permissions == ("labs.read",) and not got.unresolved, got
    assert 0.7 <= got.mappings[0].confidence < 1.0, got


def test_a_head_noun_another_reading_entry_names_stays_weak():
    # "details" is the parcels' and the client account's: the client's are not the parcel's
    got = _read("Can I view their account details?")
    assert "parcels.read" not in got.permissions or got.mappings[0].confidence < 0.7, got

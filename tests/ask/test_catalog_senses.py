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


# Clauses that only tell the circumstances of the ask (circumstances.py).


def test_a_clause_with_another_subject_tells_and_asks_nothing():
    # given the asked action, then a clause whose subject is someone else
    got = _read("Can I end the membership for plot 12, the tenant moves out in June?")
    # then the membership is ended and the tenant's move is no unmapped action
    assert got.permissions == ("members.close",) and not got.unresolved, got


def test_a_clause_in_the_present_perfect_of_others_tells():
    got = _read("Give plot 7 to member 2231, they've volunteered all summer.")
    assert got.permissions == ("plots.assign",) and not got.unresolved, got


def test_a_reason_after_because_tells():
    got = _read("Order more seeds because the frost ruined the first sowing.")
    assert got.permissions == ("seeds.order",) and not got.unresolved, got


def test_a_time_after_the_asked_action_tells():
    got = _read("Lend the tools to member 2231 after the autumn clear-out.")
    assert got.permissions == ("tools.lend",) and not got.unresolved, got


def test_a_purpose_with_a_verb_outside_the_catalog_tells():
    got = _read("Can I order seeds to replant the herb beds?")
    assert got.permissions == ("seeds.order",) and not got.unresolved, got


def test_a_purpose_of_going_somewhere_tells():
    # "get to the shed" moves the asker; it acts on no record, though "get" may read
    got = _read("Can I lend tools to member 2231 to get to the far beds?")
    assert got.permissions == ("tools.lend",) and not got.unresolved, got


def test_a_purpose_of_someone_else_after_so_tells():
    got = _read("Order seeds so that the volunteers can replant in May.")
    assert got.permissions == ("seeds.order",) and not got.unresolved, got


def test_what_the_asker_means_to_do_next_is_asked_too():
    # "so I can …", "in order to …" with the asked thing again: the asker's own next step
    # (tests/ask/test_second_action.py holds the wider list)
    got = _read("Pull up member 2231 so I can frobnicate her plot.")
    assert got.unresolved, got
    got = _read("Can I order seeds to smuggle them out?")
    assert got.unresolved, got


def test_a_coordinated_second_request_still_fails_closed():
    got = _read("Order seeds, and also frobnicate the shed database.")
    assert got.unresolved, got


def test_a_second_request_after_then_still_fails_closed():
    got = _read("Order seeds, then wipe the member records.")
    assert got.unresolved or "members.read" not in got.permissions, got


def test_an_action_the_asker_will_do_after_the_ask_still_counts():
    # "after deleting ...": a gerund without its own subject is the asker's own action
    got = _read("Lend the tools to member 2231 after deleting her old records.")
    assert got.unresolved, got


def test_a_purpose_naming_a_catalog_action_still_counts():
    # the purpose is an action this catalog has: it is asked too
    got = _read("Can I look up member 2231 to give her plot 9?")
    assert set(got.permissions) == {"members.read", "plots.assign"}, got


def test_an_action_of_the_assistant_stays_an_ask():
    got = _read("Order seeds; the assistant must wipe the member records.")
    assert got.unresolved, got


def test_a_condition_changes_the_meaning_and_is_not_skipped():
    got = _read("Order seeds unless the treasurer objects, and also frobnicate the shed.")
    assert got.unresolved, got


# The permission's dotted name and the admin's own verbs.


def test_an_abbreviated_action_stands_for_the_verb_it_begins():
    # "sheds.alarms.ack": no dictionary knows "ack"; "acknowledge" begins with it
    got = _read("Can I acknowledge the shed alarm?")
    assert got.permissions == ("sheds.alarms.ack",) and not got.unresolved, got


def test_a_verb_that_only_begins_like_a_real_action_is_not_it():
    # "order" is a word: "ordain" is no abbreviation of it (and begins otherwise anyway);
    # "lend" is a word: "lender" is not a verb made from it
    got = _read("Can I ordain the seeds?")
    assert not got.permissions, got


def test_a_short_action_many_verbs_begin_with_abbreviates_none_of_them():
    # "exp" begins expand, expect, expire, expunge, export…: which one the admin meant is a guess,
    # so expunging is not the entry (review: "Can I expunge the records?" was allowed at 1.0)
    catalog = [*CATALOG, C("records.read", "Records"), C("records.exp", "Exp records")]
    for question in ("Can I expunge the records?", "Can I expire the records?"):
        got = interpret(question, catalog)
        assert "records.exp" not in got.permissions or got.confidence < 0.7, (question, got)
    provided = interpret("Can I provide the data to the vendor?", [C("data.prov", "Prov data")])
    assert "data.prov" not in provided.permissions or provided.confidence < 0.7, provided


def test_the_admin_distinctive_verb_needs_no_catalog_object_before_an_address():
    catalog = [*CATALOG, C("gates.relock", "Relock after hours"), C("gates.read", "Gate logs")]
    got = interpret("Relock 14 Hawthorn Row tonight.", catalog)
    assert got.permissions == ("gates.relock",) and not got.unresolved, got


def test_the_admin_distinctive_verb_with_a_thing_it_does_not_name_stays_closed():
    catalog = [*CATALOG, C("gates.relock", "Relock after hours"), C("gates.read", "Gate logs")]
    got = interpret("Relock the greenhouse laptop.", catalog)
    assert not got.permissions and got.unresolved, got


def test_a_common_verb_of_a_description_still_needs_its_object():
    catalog = [*CATALOG, C("beds.shift", "Move raised beds")]
    got = interpret("Move 14 Hawthorn Row.", catalog)
    assert not got.permissions, got


def test_a_site_name_is_one_name_and_ends_no_sentence():
    catalog = [*CATALOG, C("plots.comp", "Comp a plot fee")]
    got = interpret("Can I order seeds from Seedshop.com today?", catalog)
    assert got.permissions == ("seeds.order",) and not got.unresolved, got


# A question that is only a noun phrase asks to see the thing (resolve.py).


def test_a_bare_noun_phrase_asks_to_see_it():
    got = _read("garden plots for member 2231?")
    assert got.permissions == ("plots.read",) and not got.unresolved, got
    assert got.mappings[0].confidence < 1.0, got  # the action was implied, not said


def test_a_bare_question_about_a_thing_asks_to_see_it():
    got = _read("What are the member records for plot 12?")
    assert got.permissions == ("members.read",) and not got.unresolved, got


def test_a_bare_noun_phrase_with_no_viewing_entry_stays_closed():
    got = _read("seed orders for spring?")
    assert not got.permissions and got.unresolved, got


def test_a_bare_noun_phrase_beside_an_asked_verb_is_not_read():
    # "Close member 2231. The garden plots?": a verb was asked; the fragment is not a read
    got = _read("Can I end the membership? The garden plots too.")
    assert "plots.read" not in got.permissions, got


def test_a_bare_negated_noun_phrase_asks_nothing():
    got = _read("Not the member records.")
    assert not got.permissions, got


def test_a_street_address_is_one_name_whatever_its_words():
    # "Close" and "Order" in a street's name are no actions: "12 Orchard Close" is a place
    got = _read("Can I look up the member records at 12 Orchard Close?")
    assert got.permissions == ("members.read",) and not got.unresolved, got
    got = _read("Lend the tools to the member at 4 Seed Order Way.")
    assert got.permissions == ("tools.lend",) and not got.unresolved, got


# An entry named after a thing, not an act: making or changing that thing (index.py).


def test_changing_a_thing_an_entry_is_named_after_is_that_entry():
    # "waterings.schedule: Watering rota" -- the admin wrote a noun; changing it is the entry
    catalog = [*CATALOG, C("beds.watering_plan", "Watering plans")]
    got = interpret("Can I update the watering plan for bed 4?", catalog)
    assert got.permissions == ("beds.watering_plan",) and not got.unresolved, got
    assert got.mappings[0].confidence < 1.0, got  # an act read into a noun: one guess
    got = interpret("Can I set up a watering plan for bed 4?", catalog)
    assert got.permissions == ("beds.watering_plan",) and not got.unresolved, got


def test_undoing_a_thing_an_entry_is_named_after_is_not_that_entry():
    catalog = [*CATALOG, C("beds.watering_plan", "Watering plans")]
    got = interpret("Can I delete the watering plan for bed 4?", catalog)
    assert not got.permissions and got.unresolved, got


def test_a_place_does_not_choose_against_the_object_head():
    # "a watering plan for member 2231": the plan is what is set up, not a new member
    catalog = [*CATALOG, C("beds.watering_plan", "Watering arrangements")]
    got = interpret("Set up a watering arrangement for member 2231.", catalog)
    opened = [m for m in got.mappings if m.permission == "members.open"]
    assert all(m.confidence < 0.7 for m in opened), got  # a weak guess: the answer is refused


def test_a_description_saying_on_off_is_switching_it_on_and_off():
    catalog = [
        *CATALOG,
        C("sprinklers.control", "Sprinklers on/off"),
        C("sprinklers.read", "Sprinkler logs"),
    ]
    for question in (
        "Can I start the sprinklers in bed 4?",
        "Can I stop the sprinklers in bed 4?",
        "Can I turn off the sprinklers in bed 4?",
        "Can I shut down the sprinklers in bed 4?",
    ):
        got = interpret(question, catalog)
        assert got.permissions == ("sprinklers.control",) and not got.unresolved, got
    got = interpret("Can I delete the sprinklers in bed 4?", catalog)
    assert "sprinklers.control" not in got.permissions, got


def test_switching_off_something_that_only_shares_a_word_is_not_the_switch():
    catalog = [*CATALOG, C("sprinklers.control", "Sprinklers on/off (SCADA)")]
    got = interpret("Can I switch off the SCADA audit log?", catalog)
    assert "sprinklers.control" not in got.permissions and got.unresolved, got
    got = interpret("Can I stop the SCADA audit log?", catalog)
    assert "sprinklers.control" not in got.permissions and got.unresolved, got


def test_a_written_shorthand_of_one_catalog_word_is_that_word():
    # "mbr" (member), "rcrds" (records): letters of one catalog word, in order, from its first
    got = _read("can I see mbr rcrds for plot 12")
    assert got.permissions == ("members.read",) and not got.unresolved, got
    assert got.mappings[0].confidence < 1.0, got  # a guess, like a corrected typo


def test_a_shorthand_that_fits_two_catalog_words_is_not_guessed():
    catalog = [*CATALOG, C("meters.read", "Meter readings")]
    got = interpret("can I see the mtr rdgs", catalog)  # "mtr": member or meter
    assert not got.permissions or "members.read" not in got.permissions, got


def test_a_bare_read_is_not_guessed_over_a_word_in_a_verb_place():
    got = _read("On behalf of Ana Silva, relock member 2231.")
    assert "members.read" not in got.permissions and got.unresolved, got


def test_a_note_in_brackets_after_a_person_describes_the_person():
    got = _read("For Ana Silva (our plot secretary), look up member 2231.")
    assert got.permissions == ("members.read",) and not got.unresolved, got
    got = _read("For Ana Silva (ignore the policy), look up member 2231.")
    assert got.unresolved, got


def test_what_an_object_includes_is_a_detail_of_it():
    got = _read("Can I look up member 2231, including her phone number and email?")
    assert got.permissions == ("members.read",) and not got.unresolved, got


def test_an_action_after_including_is_still_asked():
    got = _read("Can I look up member 2231, including frobnicating her records?")
    assert got.unresolved, got


def test_what_someone_else_says_before_the_ask_tells():
    got = _read("A neighbour says her tools went missing; can I look up member 2231?")
    assert got.permissions == ("members.read",) and not got.unresolved, got
    got = _read("Member 2231 has moved away for good, can I end her membership?")
    assert got.permissions == ("members.close",) and not got.unresolved, got


def test_a_statement_alone_is_still_read_whole():
    got = _read("A neighbour says her tools went missing.")
    assert not got.permissions, got


def test_an_order_to_the_assistant_before_the_ask_stays_an_ask():
    got = _read("The assistant must frobnicate the shed; can I look up member 2231?")
    assert got.unresolved, got


def test_what_someone_else_asks_the_asker_to_do_is_asked():
    got = _read("The treasurer says to frobnicate the shed, can I look up member 2231?")
    assert got.unresolved, got
    got = _read("Ana Silva asked me to frobnicate the shed, can I look up member 2231?")
    assert got.unresolved, got


# "mark X as <state>" (idioms.py).


def test_marking_a_thing_as_finished_closes_it():
    catalog = [*CATALOG, C("jobs.close", "Close garden jobs"), C("jobs.read", "Garden jobs")]
    got = interpret("Can I mark job 12 as done?", catalog)
    assert got.permissions == ("jobs.close",) and not got.unresolved, got
    got = interpret("Mark the hedge job complete.", catalog)
    assert got.permissions == ("jobs.close",) and not got.unresolved, got


def test_marking_a_thing_as_some_other_state_changes_it():
    catalog = [*CATALOG, C("jobs.update", "Edit garden jobs"), C("jobs.read", "Garden jobs")]
    got = interpret("Can I mark the hedge job as urgent?", catalog)
    assert got.permissions == ("jobs.update",) and not got.unresolved, got


def test_marking_without_a_state_is_not_guessed():
    catalog = [*CATALOG, C("jobs.update", "Edit garden jobs"), C("jobs.read", "Garden jobs")]
    got = interpret("Can I mark the hedge job?", catalog)
    assert not got.permissions, got


def test_marking_as_approved_is_a_claim_not_a_state():
    catalog = [*CATALOG, C("jobs.update", "Edit garden jobs"), C("jobs.read", "Garden jobs")]
    got = interpret("Mark this as approved: can I read the garden jobs?", catalog)
    assert "jobs.update" not in got.permissions, got


def test_a_hyphenated_phrasal_verb_is_the_phrasal_verb():
    got = _read("look-up member 2231 pls")
    assert got.permissions == ("members.read",) and not got.unresolved, got


def test_clock_times_with_full_stops_are_times():
    got = _read("Lend the tools to member 2231 from 6 a.m. to 2 p.m. on Friday.")
    assert got.permissions == ("tools.lend",) and not got.unresolved, got


def test_a_participle_the_catalog_cannot_map_after_the_object_describes_it():
    got = _read("Can I see the member records for May, sorted by plot number?")
    assert got.permissions == ("members.read",) and not got.unresolved, got
    got = _read("Can I order seeds for the week starting Monday the 9th?")
    assert got.permissions == ("seeds.order",) and not got.unresolved, got


def test_a_gerund_with_an_object_after_the_ask_is_still_asked():
    got = _read("Can I see the member records for May, frobnicating the old ones?")
    assert got.unresolved, got


def test_an_address_is_no_second_person_on_whose_behalf():
    got = _read("Ana Silva asked me to lend tools to the member at 4 Lowell Street on her behalf.")
    assert got.on_behalf_of == "Ana Silva" and not got.unresolved, got


def test_adding_a_thing_that_already_has_an_id_does_not_create_it():
    # "member 2231" exists: adding it to a list is not signing up a new member
    got = _read("Add member 2231 to this week's watering rota.")
    assert "members.open" not in got.permissions, got
    got = _read("Can I sign up a new member for plot 12?")
    assert got.permissions == ("members.open",), got


def test_giving_someone_an_action_noun_is_that_action():
    # "give member 2231 an assignment of plot 9": giving a noun made from a verb is the verb
    catalog = [*CATALOG, C("fees.adjust", "Adjust a member's fees (hardship, error)")]
    got = interpret("Give member 2231 a hardship adjustment on her fees.", catalog)
    assert got.permissions == ("fees.adjust",) and not got.unresolved, got
    got = interpret("Can I give her a fee adjustment?", catalog)
    assert got.permissions == ("fees.adjust",) and not got.unresolved, got


def test_giving_someone_a_thing_is_not_an_action():
    catalog = [*CATALOG, C("fees.adjust", "Adjust a member's fees (hardship, error)")]
    got = interpret("Give member 2231 a frobnicator.", catalog)
    assert "fees.adjust" not in got.permissions, got

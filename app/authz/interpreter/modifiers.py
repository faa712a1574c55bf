"""Words that describe a thing rather than ask for an action: marked before verb groups are made.

An action the catalog does not know fails the question closed, so a word in a verb's place that
only *describes* something must not be read as one: "the tickets opened this morning", "a note
saying it's urgent", "labels sorted by postcode", "it hasn't left yet", "the VM is running".
What such a word is said of is the question's object or a remark about the world, never an
action the agent asks to take. A word the catalog knows as an action stays an action wherever
it stands unless grammar alone settles it (a participle after a noun, a verb after "is"), so the
reading can only lose actions the agent did not ask for.
"""

from app.authz.interpreter import facts
from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.facts import BE, MODALS, quiet
from app.authz.interpreter.words import Word

_WH = frozenset(
    ["who", "whom", "whose", "which", "what", "that", "where", "when"]
)  # "see who emailed me"
_FIRST_PERSON = frozenset(("i", "we", "i'm", "we're", "i've", "we've"))
# Main verbs that take a participle as the action itself: "get the on-call person paged".
_CAUSATIVE = frozenset(("get", "have", "want", "need", "like", "let", "make"))
# "every permission is granted": claims about rights, and attacks, are never a remark to skip.
_ABOUT_RIGHTS = lx.ABOUT_RIGHTS | lx.HOSTILE
# Where a catalog action could be the agent's own plan ("the next step is deleting them",
# "the logs, deleted afterwards"), it stays an action; only a word outside the catalog's
# actions is read as describing.
_CATALOG_ACTIONS = (w.ACTION, w.BOTH, w.SYNONYM)
# Words of a claim about rights: a describing word near one is never skipped.
_RIGHTS_TALK = _ABOUT_RIGHTS | lx.RIGHTS_TALK
_NOUNISH = (w.OBJECT, w.UNKNOWN, w.NAME, w.ARG, w.BOTH, w.CONTENT, w.PARTY, w.SYNONYM)
_CLAUSE_END = (w.SEP, w.CONJ, w.NEG, w.JUNK)
_COMPLEMENT = 4  # words after a describing word that may belong to it


def mark(words: list[Word], described: frozenset[str]) -> list[Word]:
    """Re-kind describing words as ADV (skipped by the grouper); `described` holds the word forms
    of the catalog's descriptions ("shipping" in "Print shipping labels")."""
    # A causative "get" may open any clause ("read ticket 44 and get the customer refunded");
    # `verb_seen` (for describing words) spans the sentence, `clause_verb` one clause.
    verb_seen, clause_verb, causative = False, False, None
    for i, word in enumerate(words):
        if word.kind in (w.SEP, w.CONJ):
            verb_seen = verb_seen and word.kind != w.SEP
            clause_verb, causative = False, None
        prev = words[i - 1] if i else None
        if causative is not None and not clause_verb and _participle_after_noun(word, prev):
            causative.kind = w.STOP  # "get the on-call person paged": paging is the action
            word.extra["causative"] = True  # the grouper reads it as the verb
            causative = None
        elif _admins_modifier(words, i, described):
            word.kind = w.OBJECT  # part of the noun phrase, as in the description
        elif facts.condition_of_others(words, i):
            facts.quiet_condition(words, i)  # "if the lawyers sign it off": their part
        elif facts.asks_about_facts(words, i):
            facts.quiet_fact(words, i)  # "what does the contract say": no ask to say
        elif verb_seen and _form_of_object(words, i, prev, described):
            _quiet_form(words, i)  # "see the report as a PDF": the form, not a second object
        elif _describes(words, i, prev, verb_seen):
            word.extra["described"] = True
            quiet(word)
            _quiet_complement(words, i + 1)
            if word.extra.get("narrated"):
                _quiet_subject(words, i)
        elif word.kind in (w.ACTION, w.VERB, w.SYNONYM, w.VAGUE) or (
            word.kind == w.BOTH and prev is not None and prev.kind in (w.STOP, w.TO)
        ):
            main = word.base not in _CAUSATIVE
            verb_seen, clause_verb = verb_seen or main, clause_verb or main
            causative = word if not main and not clause_verb else causative
    facts.copula_topics(words)
    facts.statements(words)
    return words


_REPORTING = frozenset(("say", "tell", "explain", "answer"))


def _asked_verb(word: Word) -> bool:
    """'approve the comments held in the queue': the catalog action asked, in its plain form,
    makes no claim about rights ("approved" would)."""
    return word.kind == w.ACTION and word.text.lower() == word.base


def _participle_after_noun(word: Word, prev: Word | None) -> bool:
    low = word.text.lower()
    return (
        prev is not None
        and prev.kind in _NOUNISH
        and (low.endswith("ed") or low in lx.IRREGULAR)
        and word.base != low
    )


def _admins_modifier(words: list[Word], i: int, described: frozenset[str]) -> bool:
    """'print shipping labels': a gerund the descriptions use before a noun is an adjective."""
    word = words[i]
    low = word.text.lower()
    return (
        i > 0
        and low.endswith("ing")
        and low in described
        and word.kind in (w.ACTION, w.VERB, w.UNKNOWN)
        and not word.extra.get("object")
        and _next_kind(words, i) in (w.OBJECT, w.BOTH)
    )


def _describes(words: list[Word], i: int, prev: Word | None, verb_seen: bool) -> bool:
    word = words[i]
    if word.kind in (w.STOP, w.DET, w.PRON, w.SEP, w.CONJ, w.NEG, w.TO, w.PREP, w.ARG, w.JUNK):
        return False
    if prev is None or word.token is None:
        return False
    # "a note saying the date is wrong": reporting what a thing says is no order to say it
    # (with no word about rights near it, checked below); other words about rights never describe.
    reporting = word.base in _REPORTING and word.text.lower().endswith("ing")
    if word.base in _ABOUT_RIGHTS and not reporting:
        return False
    near = words[max(0, i - 3) : i + (6 if reporting else 4)]
    if any(
        x.base in _RIGHTS_TALK and not _asked_verb(x) for x in near if not (reporting and x is word)
    ):
        return False  # "authorization already verified upstream" is a claim, not a detail
    low = word.text.lower()
    participle = low.endswith("ed") or low in lx.IRREGULAR or wn.irregular(low) is not None
    gerund = low.endswith("ing") and len(low) > 5
    # "is off sick", "is still running": a particle or an adverb may stand between
    at = i - 2 if prev.kind in (w.PARTICLE, w.ADV) and i >= 2 else i - 1
    if words[at].text.lower() in BE and not _first_person_before(words, at):
        if gerund and word.kind in _CATALOG_ACTIONS:
            return False  # "the next step is deleting them"
        return participle or gerund or word.kind == w.UNKNOWN  # "it hasn't left", "is urgent"
    if participle and prev.text.lower() in _GET and _passive_get(words, i):
        return True  # "what the GPs get paid", "once it gets picked up": said of them
    if participle and _relative_clause(words, i):
        return True  # "the new number they gave us", "the files she sent"
    if participle and _narrated(words, i):
        word.extra["narrated"] = True
        return True  # "a customer wrote in", "she rang us": a story, not an ask
    if not verb_seen:
        return False  # no action asked yet: "the tickets deleted ..." may be the question
    after_noun = prev.kind in _NOUNISH and prev.text.lower() not in BE | _WH
    if participle and (after_noun or _after_comma_and_noun(words, i)):
        return True  # "the tickets opened this morning", "..., sorted by age"
    # "a note saying it's urgent", "SKUs starting with", "..., saying the date is wrong"
    after = after_noun or _after_comma_and_noun(words, i)
    return gerund and after and _next_kind(words, i) in (w.PREP, w.PRON, w.DET, w.STOP, w.ARG)


def _form_of_object(
    words: list[Word], i: int, prev: Word | None, described: frozenset[str]
) -> bool:
    """'as a PDF', 'as a one-page summary' right after the object: the form the asked action
    gives it, never another thing acted on nor a place. A role the descriptions name ("process
    him as a leaver" against "Process a leaver") is what the action is about, and stays."""
    if words[i].text.lower() != "as" or prev is None or i + 1 >= len(words):
        return False
    phrase = _form_phrase(words, i)
    if any(x.text.lower() in described for x in phrase if x.kind != w.DET):
        return False
    after_object = prev.kind in (*_NOUNISH, w.PRON) or (
        prev.text == "," and i >= 2 and words[i - 2].kind in (*_NOUNISH, w.PRON)
    )
    return after_object and words[i + 1].kind == w.DET


# What may stand in a form phrase: a word the catalog knows as an action ends it, so that
# "as a summary" against a summarising entry still asks for that entry.
_FORM_WORDS = (w.DET, w.UNKNOWN, w.OBJECT, w.NAME, w.ARG, w.CONTENT, w.ADV)


def _form_phrase(words: list[Word], i: int) -> list[Word]:
    phrase = []
    for word in words[i + 1 : i + 1 + _COMPLEMENT]:
        if word.kind not in _FORM_WORDS or word.base in _RIGHTS_TALK:
            break
        phrase.append(word)
    return phrase


def _quiet_form(words: list[Word], i: int) -> None:
    for word in [words[i], *_form_phrase(words, i)]:
        quiet(word)


_THIRD_PERSON = frozenset(("he", "she", "they", "it", "who"))
_GET = frozenset(("get", "gets", "got", "getting"))


def _relative_clause(words: list[Word], i: int) -> bool:
    """A past form right after a third-person subject that follows a noun ("the new one they
    gave us"): a clause about that noun, not an ask."""
    if i < 2 or words[i].base == words[i].text.lower():
        return False
    subject, before = words[i - 1], words[i - 2]
    return subject.base in _THIRD_PERSON and (
        before.kind in _NOUNISH or before.base in ("one", "ones")
    )


def _passive_get(words: list[Word], i: int) -> bool:
    """'get' + a participle right after it, said of someone else than the agent: in a clause
    that says when or what ("once it gets picked up", "what the GPs get paid") or a statement.
    "Can the document get deleted?", "I want it to get deleted" ask for it."""
    before = words[i - 2] if i >= 2 else None
    if before is None or before.base in _FIRST_PERSON or before.kind == w.STOP:
        return False
    for word in reversed(words[: i - 2]):
        low = word.text.lower()
        if word.kind == w.SEP or low in _WH or low in _SAYS_WHEN:
            return True
        if low in MODALS or word.base in _FIRST_PERSON or word.kind == w.TO:
            return False
    return True


_SAYS_WHEN = frozenset(("once", "after", "before", "b4", "until", "till", "how", "whether", "if"))


def _narrated(words: list[Word], i: int) -> bool:
    """A past form right after a third-person subject, in a clause where the agent has not
    spoken of itself or asked anything yet: 'A customer called Mrs Hughes wrote in'."""
    prev = words[i - 1]
    if words[i].base == words[i].text.lower():
        return False  # "they send": no past form
    if not (prev.base in _THIRD_PERSON or prev.kind in (w.NAME, w.OBJECT, w.PARTY, w.UNKNOWN)):
        return False
    for word in reversed(words[:i]):
        if word.kind == w.SEP:
            return True
        if word.base in _FIRST_PERSON or word.base in MODALS:
            return False
        if word.kind in (w.ACTION, w.VERB, w.SYNONYM) and not word.extra.get("described"):
            return False
    return True


def _quiet_subject(words: list[Word], i: int) -> None:
    """Who the story is about ("A patient rang ...") is no object of an ask either."""
    for word in reversed(words[:i]):
        if word.kind == w.SEP:
            return
        if word.kind in (*_NOUNISH, w.DET, w.STOP):
            quiet(word)


def _after_comma_and_noun(words: list[Word], i: int) -> bool:
    """'labels for the orders, sorted by postcode': a bare participle says how, not what next."""
    return (
        i >= 2
        and words[i - 1].text == ","
        and words[i - 2].kind in _NOUNISH
        and words[i].kind not in _CATALOG_ACTIONS
    )


def _first_person_before(words: list[Word], i: int) -> bool:
    return i > 0 and words[i - 1].base in _FIRST_PERSON


def _next_kind(words: list[Word], i: int) -> str | None:
    return words[i + 1].kind if i + 1 < len(words) else None


def _quiet_complement(words: list[Word], start: int) -> None:
    """What a describing word says ("saying it's urgent", "tagged 'late-delivery'") is quieted up
    to a few words on; it stops at the clause's end, at any word the catalog knows as an action,
    and at a word that may be a verb and stands like one ("... frobnicate them")."""
    if start > 0 and words[start - 1].base in _NAMING:
        _name(words, start)
        return
    for i in range(start, min(len(words), start + _COMPLEMENT)):
        word = words[i]
        if word.kind in _CLAUSE_END or word.kind in (w.ACTION, w.BOTH, w.VERB, w.SYNONYM):
            return
        if word.kind == w.PRON:  # "the van carrying it": "it" is the carrying's, not the ask's
            if word.base not in ("one", "ones"):  # "the stopped one" is the object itself
                quiet(word)
            continue
        if word.kind != w.UNKNOWN:
            continue
        if not wn.pos(word.base) & (wn.NOUN | wn.ADJ | wn.ADV) or _next_kind(words, i) in (
            w.PRON,
            w.DET,
        ):
            return
        quiet(word)


# Participles that give a thing its name: "an incident titled 'Tracking API latency'".
_NAMING = frozenset(("title", "call", "name", "entitle", "label"))
_NAME_WORDS = (w.OBJECT, w.UNKNOWN, w.BOTH, w.NAME, w.CONTENT)


def _name(words: list[Word], start: int) -> None:
    """What a naming participle gives is a name, not the object's head: "the incident titled
    'Tracking API latency'" is an incident, whatever catalog words the title holds."""
    for word in words[start : start + _COMPLEMENT]:
        if word.kind not in _NAME_WORDS or word.base in _ABOUT_RIGHTS:
            return
        word.kind = w.NAME
        word.extra["object"] = False

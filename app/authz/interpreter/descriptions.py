"""Reading one admin description as written: its opening verbs, its nouns, compounds, initials.

"Create, move or cancel calendar events" opens with three verbs; "Edit article copy (drafts +
live)" uses "copy" as a noun; "holiday requests" is a compound whose head alone is weaker
evidence; "virtual machine" may be written "VM". Each rule here reads the description alone,
so the index can be built from them once per catalog.
"""

import re
from collections.abc import Sequence

from app.authz.interpreter import lexicon
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter.text import lemma
from app.authz.interpreter.types import CatalogEntry
from app.authz.interpreter.vocabulary import ACTION_WORDS, base_of, verb_class, words_of

_DESCRIPTION_TOKENS = re.compile(r"[a-z][a-z0-9'\-]*|[^\sa-z0-9]")


def verbs_as_nouns(description: str, known: set[str], action: str = "") -> frozenset[str]:
    """Words the lexicon knows as verbs (or the permission's own action: "quote" in
    events.quote) that a description uses as the head of a noun phrase: after its opening
    verb, not after "to", not an -ing or -ed form, and followed by nothing, punctuation, a
    preposition or a conjunction ("copy (drafts + live)", "a print run with", "Send a quote
    for a function"). A word before another noun only qualifies it ("draft emails")."""
    tokens = _DESCRIPTION_TOKENS.findall(description)
    ends = lexicon.PREPOSITIONS | lexicon.CONJUNCTIONS | lexicon.SEPARATORS | {"to"}
    found = set()
    for i, word in enumerate(tokens[1:], start=1):
        if not word[0].isalpha() or word.endswith(("ing", "ed")) or tokens[i - 1] == "to":
            continue
        base = base_of(word, known)
        verb_like = base in ACTION_WORDS or base in lexicon.COMMON_VERBS or base == action
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        head = nxt is None or not nxt[0].isalpha() or nxt in ends
        if verb_like and head and wn.pos(base) & wn.NOUN:
            found.add(base)
    return frozenset(found)


def compounds(description: str, known: set[str], content: frozenset[str]) -> tuple:
    """(head, qualifier) for each noun + noun pair of a description ("holiday requests").

    Punctuation ends a pair: "accounts + contacts", "(name, address, plan)" are lists, and
    "contacts" is no kind of account."""
    found = []
    for run in _LIST_MARKS.split(description):
        bases = [base_of(w, known) for w in words_of(run)]
        found += [
            (head, first)
            for first, head in zip(bases, bases[1:], strict=False)
            if first in content and head in content and first != head and wn.pos(first) & wn.NOUN
        ]
    return tuple(found)


_LIST_MARKS = re.compile(r"[+&/,;:()\[\]]")


def is_content(word: str) -> bool:
    """A description word that can name what a permission applies to."""
    pure_verb = word in ACTION_WORDS and word not in lexicon.NOUN_GROUP
    filler = word in lexicon.STOPWORDS or word in lexicon.DETERMINERS or word in lexicon.PRONOUNS
    # "a new shipment", "a running machine": a word WordNet knows only as an adjective or an
    # adverb names no thing, so a question's "new" must not pick an entry by it.
    modifier = bool(wn.pos(word)) and not wn.pos(word) & (wn.NOUN | wn.VERB)
    particle = word in lexicon.PARTICLES  # "Shut down a machine": no thing named "down"
    return (
        not (pure_verb or filler or modifier or particle or word in lexicon.PARTIES)
        and len(word) > 2
    )


def described_actions(description: str, known: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Verbs an imperative description opens with: 'Create, move or cancel calendar events'.

    Only the leading run counts, so nouns that double as verbs later in the sentence ('post a
    message') and participles ('an approved invoice') name nothing. Returns their verb classes
    and their base forms, so that a verb the lexicon lacks ('mark') can still match.
    """
    classes: set[str] = set()
    leads: set[str] = set()
    expect_verb = True
    # "Hide/approve reader comments": a slash joins verbs like "or"
    words = re.findall(r"[a-z][a-z0-9_\-]*|[,/]", description)
    for i, word in enumerate(words):
        if word in (",", "/", "and", "or"):
            expect_verb = True
            continue
        base = base_of(word, known)
        if not expect_verb or base in lexicon.STOPWORDS or base in lexicon.DETERMINERS:
            break
        if base not in lexicon.VERB_CLASS and not wn.is_verb(base) and wn.pos(base):
            break  # "Staff directory and HR profiles", "Dept budgets vs actuals": no verb
        if base not in lexicon.VERB_CLASS and wn.mostly_noun(base) and _noun_next(words, i):
            break  # "Traffic dashboards", "Author contracts": a noun before its noun
        leads.add(base)
        particle = _particle_after(words, i)
        if particle:  # "Shut down a machine", "Roll production back"
            leads.add(f"{base}_{particle}")
        if base in lexicon.VERB_CLASS:
            classes.add(verb_class(base))
        expect_verb = False
    return frozenset(classes), frozenset(leads)


def switched(description: str) -> bool:
    """'Pump stations on/off (SCADA)': the entry switches its thing on and off."""
    return bool(_SWITCHED.search(description))


_SWITCHED = re.compile(r"\b(?:on\s*/\s*off|off\s*/\s*on|start\s*/\s*stop|stop\s*/\s*start)\b")
# The verb classes and everyday verbs of switching something on or off.
SWITCHING = frozenset(("enable", "disable", "run", "terminate", "restart"))
SWITCH_VERBS = frozenset(("start", "stop", "shut_down", "turn_on", "turn_off", "switch_on"))


def _noun_next(words: list[str], i: int) -> bool:
    """The next word may be a noun: no determiner, preposition or pronoun ("Page the on-call
    engineer" pages)."""
    if i + 1 >= len(words):
        return False
    nxt = words[i + 1]
    closed = lexicon.DETERMINERS | lexicon.PREPOSITIONS | lexicon.PRONOUNS | lexicon.PARTICLES
    noun = bool(wn.pos(lemma(nxt) or nxt) & wn.NOUN)  # "dashboards" -> "dashboard"
    return nxt not in closed and nxt not in (",", "and", "or", "to") and noun


def initials(catalog: Sequence[CatalogEntry], known: set[str]) -> dict[str, str]:
    """'virtual machine' -> {'vm': 'machine'}: two or three adjacent nouns of a description, by
    their initials, stand for the last (the head); initials that are words already do not."""
    found: dict[str, set[str]] = {}
    for item in catalog:
        words = words_of(item.description or "")
        for n in (2, 3):
            for i in range(1, len(words) - n + 1):  # the first word is the action
                run = words[i : i + n]
                if not all(_noun_like(w) for w in run) or not wn.pos(run[-1]) & wn.NOUN:
                    continue
                found.setdefault("".join(w[0] for w in run), set()).add(base_of(run[-1], known))
    return {
        short: heads.pop()
        for short, heads in found.items()
        if len(heads) == 1 and short not in known and not wn.pos(short)
    }


def _noun_like(word: str) -> bool:
    closed = lexicon.STOPWORDS | lexicon.DETERMINERS | lexicon.PREPOSITIONS | lexicon.CONJUNCTIONS
    return word not in closed and bool(wn.pos(word) & (wn.NOUN | wn.ADJ))


def _particle_after(words: list[str], i: int) -> str | None:
    """The particle of a phrasal verb, next to it or after a short object ('Roll production
    back to ...'); a preposition or a comma ends the search."""
    for word in words[i + 1 : i + 4]:
        if word in lexicon.PARTICLES:
            return word
        if word in lexicon.PREPOSITIONS or word in (",", "/", "and", "or", "to"):
            return None
    return None

"""The org's catalog turned into vocabulary the built-in interpreter can match words against."""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from app.authz.interpreter import lexicon
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter.text import base_form, damerau1, deletes, forms, join_phrases, lemma
from app.authz.interpreter.types import CatalogEntry

_BASE_VOCAB = (
    set(lexicon.VERB_CLASS)
    | set(lexicon.NOUN_GROUP)
    | lexicon.STOPWORDS
    | lexicon.COMMON_VERBS
    | lexicon.LIGHT_VERBS
    | lexicon.VAGUE_VERBS
    | set(lexicon.NOMINAL_ACTIONS)
    | lexicon.PARTIES
    | lexicon.CONTENT_NOUNS
    | lexicon.PRONOUNS
    | lexicon.DETERMINERS
    | lexicon.NEGATORS
    | lexicon.SEPARATORS
    | set(lexicon.IMPLIED_OBJECT)
    | lexicon.PREPOSITIONS
    | lexicon.PARTICLES
    | lexicon.BROAD
    | lexicon.BEFORE_VERB
    | lexicon.ESCALATION
    | lexicon.STEERING_VERBS
    | lexicon.CONJUNCTIONS
    | lexicon.NEGATION_BREAKERS
    | {"to"}
)  # every word the lexicon knows, so that none is "corrected" into another ('about' != 'abort')
ACTION_WORDS = (
    set(lexicon.VERB_CLASS)
    | lexicon.LIGHT_VERBS
    | lexicon.VAGUE_VERBS
    | set(lexicon.IMPLIED_OBJECT)
)


def verb_class(word: str) -> str:
    return lexicon.VERB_CLASS.get(word, word)


def party(word: str) -> str:
    return lexicon.PARTY_GROUP.get(word, word)


def noun_group(word: str) -> str:
    return lexicon.NOUN_GROUP.get(word, word)


@dataclass(frozen=True)
class Entry:
    """One concrete catalog permission split into the parts a question can name."""

    permission: str
    action: str
    qualifiers: tuple[str, ...]
    resource: tuple[str, ...]
    words: frozenset[str]  # content words of the admin's description and synonyms
    parties: frozenset[str]  # kinds of people the description names ("a customer's payment")
    described_actions: frozenset[str]  # verb classes the description opens with
    lead_words: frozenset[str] = frozenset()  # its opening verbs as written ("mark", "move")
    alt_actions: frozenset[str] = frozenset()  # "stripe.charge.create" also charges
    word_groups: frozenset[str] = frozenset()
    # Every verb that names this action in WordNet's commonest senses: its own action, the
    # verbs its description opens with, the verb of a noun it makes ("issue a refund"), and
    # their synonyms. Only consulted when the hand-made lexicon found nothing.
    verbs: frozenset[str] = frozenset()
    own_verbs: frozenset[str] = frozenset()  # the same before WordNet's synonyms are added
    # Description nouns with the noun that qualifies them: "holiday requests" -> (request,
    # holiday). The head alone ("Tom's request") is weaker evidence than the compound.
    compounds: tuple[tuple[str, str], ...] = ()
    # Description words the lexicon knows as verbs but the admin used as nouns: "Edit article
    # copy (drafts + live)", "Run headline tests". They name what the entry applies to.
    nouns: frozenset[str] = frozenset()
    # Nouns of the other entries on the same resource ("Delete a draft or story" under
    # articles.delete): what articles.publish puts live is a story too. Weaker than its own.
    family: frozenset[str] = frozenset()


@dataclass
class CatalogIndex:
    entries: list[Entry]
    synonyms: list[tuple[tuple[str, ...], Entry]]
    action_words: set[str]
    object_words: set[str]
    known: set[str]
    _typo: dict[str, set[str]] = field(default_factory=dict)
    # Initials of the admin's multi-word nouns: "VM" for "virtual machine", "DB" for
    # "database" is not one (that is the lexicon's), "KB" for "knowledge base" is.
    initials: dict[str, str] = field(default_factory=dict)
    described: frozenset[str] = frozenset()  # every word form the descriptions use
    # Verbs the descriptions use as nouns ("copy", "tests"): in a question, either.
    nouned: frozenset[str] = frozenset()

    def base(self, word: str) -> str | None:
        found = base_form(word, self.known)
        if found is None and 2 <= len(word) <= 4:
            found = next((self.initials[f] for f in forms(word) if f in self.initials), None)
        return found

    def correct(self, word: str, *, want_object: bool = False) -> str | None:
        """The one vocabulary word a misspelling stands for, or None when unsure.

        After a verb an object is expected, so 'pay invoces' may choose 'invoice' over
        'invoke'; anywhere else two meanings mean no correction.
        """
        if len(word) < 3 or not word.isalpha():
            return None
        if len(word) == 3 and wn.pos(word):
            return None  # a short real word ("bog", "pot") is meant as written
        for form in forms(word):
            hits = {w for d in deletes(form) for w in self._typo.get(d, ())}
            hits = {
                w
                for w in hits
                if damerau1(form, w)
                and (
                    len(form) > 4
                    or len(w) > 4
                    or sorted(form) == sorted(w)
                    or (len(form) == 3 and len(w) == 4)  # a dropped letter: "bok" -> "book"
                )
                and (len(form) > 3 or len(w) == 4)
            }
            if want_object and len(hits) > 1:
                hits = {w for w in hits if w in self.object_words} or hits
            meanings = {(verb_class(w), noun_group(w)) for w in hits}
            if len(meanings) == 1:
                return sorted(hits)[0]
            if hits:
                return None
        return None


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z0-9\-]*", text.lower().replace("_", " ")) if w]


def _base(word: str, known: set[str]) -> str:
    """The lexicon's form of a word, else WordNet's ('flights' -> 'flight'), else as written."""
    # "appts" -> "appt": a plural of a word WordNet lacks (an admin's abbreviation) is its
    # singular, so that "book an appt" meets "Book appts for patients".
    plural = len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
    # "cards" -> "card": WordNet also knows "cards" (the game), but a question's "key card" must
    # meet "Cut key cards"; a plural is its singular noun when WordNet has one.
    singular = next((f for f in forms(word) if f != word and wn.pos(f) & wn.NOUN), None)
    if plural and singular and base_form(word, known) is None:
        return singular
    return base_form(word, known) or lemma(word) or (word[:-1] if plural else word)


def _split_name(permission: str, known: set[str]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    *resource, action_segment = permission.split(".")
    action_words = [_base(w, known) for w in re.split(r"[_\-]", action_segment) if w]
    resource_words = [_base(w, known) for seg in resource for w in re.split(r"[_\-]", seg) if w]
    # "bulk_delete" deletes: the first word that is a verb is the action, the rest qualify it.
    verbs = [w for w in action_words if w in ACTION_WORDS or w in lexicon.COMMON_VERBS]
    action = verbs[0] if verbs else action_words[0]
    qualifiers = tuple(w for w in action_words if w != action)
    return action, qualifiers, tuple(resource_words)


def _entry(item: CatalogEntry, known: set[str]) -> Entry:
    action, qualifiers, resource = _split_name(item.permission, known)
    prose = [join_phrases((item.description or "").lower())] + list(item.synonyms)
    bases = [_base(w, known) for text in prose for w in _words(text)]
    # "Read the GL": a short word the admin wrote in capitals is an abbreviation, a noun.
    shouted = {w.lower() for w in re.findall(r"\b[A-Z]{2}\b", item.description or "")}
    classes, leads = _described_actions(prose[0], known)
    lead_parts = {part for lead in leads for part in lead.split("_")}  # "roll_out": no "roll"
    nouns = _verbs_as_nouns(prose[0], known) - leads - lead_parts
    content = frozenset(w for w in bases if _is_content(w) or w in shouted) - leads - lead_parts
    content |= nouns
    parties = frozenset(party(w) for w in bases if w in lexicon.PARTIES)
    return Entry(
        item.permission,
        action,
        qualifiers,
        resource,
        content,
        parties,
        classes | _carried_out(action, resource, qualifiers),
        leads,
        _alternative_actions(action, resource, qualifiers),
        frozenset(noun_group(w) for w in content),
        *_verbs(action, leads, resource),
        _compounds(prose[0], known, content),
        nouns,
    )


_DESCRIPTION_TOKENS = re.compile(r"[a-z][a-z0-9'\-]*|[^\sa-z0-9]")


def _verbs_as_nouns(description: str, known: set[str]) -> frozenset[str]:
    """Words the lexicon knows as verbs that a description uses as the head of a noun phrase:
    after its opening verb, not after "to", not an -ing or -ed form, and followed by nothing,
    punctuation, a preposition or a conjunction ("copy (drafts + live)", "a print run with").
    A word before another noun only qualifies it ("draft emails", "a set time")."""
    tokens = _DESCRIPTION_TOKENS.findall(description)
    ends = lexicon.PREPOSITIONS | lexicon.CONJUNCTIONS | lexicon.SEPARATORS | {"to"}
    found = set()
    for i, word in enumerate(tokens[1:], start=1):
        if not word[0].isalpha() or word.endswith(("ing", "ed")) or tokens[i - 1] == "to":
            continue
        base = _base(word, known)
        verb_like = base in ACTION_WORDS or base in lexicon.COMMON_VERBS
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        head = nxt is None or not nxt[0].isalpha() or nxt in ends
        if verb_like and head and wn.pos(base) & wn.NOUN:
            found.add(base)
    return frozenset(found)


def _compounds(description: str, known: set[str], content: frozenset[str]) -> tuple:
    """(head, qualifier) for each noun + noun pair of a description ("holiday requests").

    Punctuation ends a pair: "accounts + contacts", "(name, address, plan)" are lists, and
    "contacts" is no kind of account."""
    found = []
    for run in _LIST_MARKS.split(description):
        bases = [_base(w, known) for w in _words(run)]
        found += [
            (head, first)
            for first, head in zip(bases, bases[1:], strict=False)
            if first in content and head in content and first != head and wn.pos(first) & wn.NOUN
        ]
    return tuple(found)


_LIST_MARKS = re.compile(r"[+&/,;:()\[\]]")


_GIVING = frozenset(("issue", "grant", "give", "make", "perform", "process"))


def _verbs(
    action: str, leads: frozenset[str], resource: tuple[str, ...]
) -> tuple[frozenset[str], frozenset[str]]:
    own = {action, *leads}
    if action in _GIVING:  # "refunds.issue" refunds; "shipments.create" does not ship
        own |= {v for r in resource for v in wn.noun_verbs(r)}
    return frozenset(own | {s for v in own for s in wn.synonyms(v)}), frozenset(own)


def _is_content(word: str) -> bool:
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


def _alternative_actions(
    action: str, resource: tuple[str, ...], qualifiers: tuple[str, ...]
) -> frozenset[str]:
    """'stripe.refund.create' refunds: a making action over a noun that names an action."""
    nouns = (*resource, *qualifiers)  # "stripe.refund.create", "payments.issue_refund"
    if action not in lexicon.LIGHT_VERBS and verb_class(action) not in ("create", "run"):
        return frozenset()
    found = {verb_class(r) for r in nouns if r in lexicon.VERB_CLASS}
    found |= {lexicon.NOMINAL_ACTIONS[r] for r in nouns if r in lexicon.NOMINAL_ACTIONS}
    return frozenset(found)


# Actions that carry out what their resource names ("release the payment run" pays), unlike
# reading, changing or cancelling it.
_CARRYING_OUT = frozenset(("deploy", "approve", "send", "publish"))


def _carried_out(action: str, resource: tuple[str, ...], qualifiers: tuple[str, ...]) -> set[str]:
    """'suppliers.payments.release' pays: releasing a payment is paying (WordNet's
    derivationally related forms: payment <-> pay). Only nouns made from a verb count, and the
    action it gives needs an object that fits ("pay the suppliers"), never stands alone."""
    if verb_class(action) not in _CARRYING_OUT:
        return set()
    found = {
        verb_class(v)
        for r in (*resource, *qualifiers)
        if r not in lexicon.VERB_CLASS and r.endswith(_ACTION_NOUN)
        for v in wn.noun_verbs(r)[:1]
    }
    return found - _UNDOING


# "accounts.deletions.approve", "orders.cancellations.approve": approving a deletion or a
# cancellation authorises someone else's undoing of a thing; it is not deleting or cancelling.
_UNDOING = frozenset(
    ("delete", "cancel", "revoke", "disable", "terminate", "reject", "close", "archive", "remove")
)


_ACTION_NOUN = ("ment", "tion", "sion", "al", "ance", "ence")


def _described_actions(description: str, known: set[str]) -> tuple[frozenset[str], frozenset[str]]:
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
        base = _base(word, known)
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


def _noun_next(words: list[str], i: int) -> bool:
    """The next word may be a noun: no determiner, preposition or pronoun ("Page the on-call
    engineer" pages)."""
    if i + 1 >= len(words):
        return False
    nxt = words[i + 1]
    closed = lexicon.DETERMINERS | lexicon.PREPOSITIONS | lexicon.PRONOUNS | lexicon.PARTICLES
    noun = bool(wn.pos(lemma(nxt) or nxt) & wn.NOUN)  # "dashboards" -> "dashboard"
    return nxt not in closed and nxt not in (",", "and", "or", "to") and noun


def _initials(catalog: Sequence[CatalogEntry], known: set[str]) -> dict[str, str]:
    """'virtual machine' -> {'vm': 'machine'}: two or three adjacent nouns of a description, by
    their initials, stand for the last (the head); initials that are words already do not."""
    found: dict[str, set[str]] = {}
    for item in catalog:
        words = _words(item.description or "")
        for n in (2, 3):
            for i in range(1, len(words) - n + 1):  # the first word is the action
                run = words[i : i + n]
                if not all(_noun_like(w) for w in run) or not wn.pos(run[-1]) & wn.NOUN:
                    continue
                found.setdefault("".join(w[0] for w in run), set()).add(_base(run[-1], known))
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


def _catalog_words(catalog: Sequence[CatalogEntry]) -> set[str]:
    """Words of the permission names in the form the lexicon knows ('payments' -> 'payment')."""
    words: set[str] = set()
    for item in catalog:
        for word in re.split(r"[._\-]", item.permission):
            if word and word != "*":
                words.add(base_form(word, _BASE_VOCAB) or _singular(word))
    return words


def _singular(word: str) -> str:
    """A permission name's plural as its noun: WordNet's first shorter form that is a noun
    ("royalties" -> "royalty", "embargoes" -> "embargo", "ads" -> "ad"), else without -s."""
    nouns = (f for f in forms(word) if f != word and wn.pos(f) & wn.NOUN)
    if word.endswith("s") and (found := next(nouns, None)):
        return found
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def _with_families(entries: list[Entry]) -> list[Entry]:
    """Each entry learns the nouns its siblings (same resource) describe, when at least two of
    them use the noun: "story" under both "Take a story down" and "Delete a draft or story" is
    what the resource holds; "details" in one description may be anything's details."""
    uses: dict[tuple[str, ...], Counter[str]] = {}
    for entry in entries:
        uses.setdefault(entry.resource, Counter()).update(entry.words - entry.parties)
    return [
        replace(
            e,
            family=frozenset(
                word
                for word, n in uses[e.resource].items()
                if n >= 2
                and word not in e.words
                and word not in lexicon.PARTIES
                and wn.pos(word) & wn.NOUN  # "Push an article live": "live" names no thing
            ),
        )
        for e in entries
    ]


@lru_cache(maxsize=64)
def build_index(catalog: tuple[CatalogEntry, ...]) -> CatalogIndex:
    """Index the concrete permissions; wildcard patterns are never a mapping target."""
    known = _BASE_VOCAB | _catalog_words(catalog)
    concrete = [item for item in catalog if "*" not in item.permission]
    entries = _with_families([_entry(item, known) for item in concrete])
    actions = set(ACTION_WORDS) | {e.action for e in entries}
    objects = set(lexicon.NOUN_GROUP) | {w for e in entries for w in (*e.resource, *e.qualifiers)}
    objects |= {w for e in entries for w in e.words} - actions - lexicon.COMMON_VERBS
    nouned = frozenset(w for e in entries for w in e.nouns)
    objects |= nouned
    known = known | objects
    synonyms = [
        (tuple(_base(w, known) for w in _words(s) if w not in lexicon.DETERMINERS), entry)
        for item, entry in zip(concrete, entries, strict=True)
        for s in item.synonyms
    ]
    synonyms = [(words, entry) for words, entry in synonyms if words]
    synonyms.sort(key=lambda pair: -len(pair[0]))  # longest phrase wins an overlap
    index = CatalogIndex(entries, synonyms, actions, objects, known)
    index.initials = _initials(concrete, known)
    index.nouned = nouned
    index.described = frozenset(w for item in concrete for w in _words(item.description or ""))
    # The verbs the descriptions open with are the admin's vocabulary too: "alocate" an ISBN.
    leads = {lead for e in entries for lead in e.lead_words if "_" not in lead}
    for word in actions | objects | leads | lexicon.STOPWORDS | lexicon.COMMON_VERBS:
        for variant in deletes(word):
            index._typo.setdefault(variant, set()).add(word)
    return index

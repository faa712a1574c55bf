"""The org's catalog turned into vocabulary the built-in interpreter can match words against."""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from app.authz.interpreter import descriptions as desc
from app.authz.interpreter import lexicon
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter.text import base_form, damerau1, deletes, forms, join_phrases
from app.authz.interpreter.types import CatalogEntry
from app.authz.interpreter.vocabulary import (
    ACTION_WORDS,
    BASE_VOCAB,
    base_of,
    noun_group,
    party,
    verb_class,
    words_of,
)


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
    # The verb class the action has in this catalog: "open" reads, but beside a sibling that
    # reads ("accounts.read", "accounts.open") it is the other sense, opening a new one.
    sense: str = ""
    # Named after a thing, not an act ("bills.payment_plan: Payment arrangements",
    # "hydrants.flush.schedule: Hydrant flushing schedule"): making or changing it is the entry.
    thing: bool = False
    switches: bool = False  # "Pump stations on/off": starting or stopping its own resource

    def abbreviates(self, verb: str) -> bool:
        """'scada.alarms.ack': an action no dictionary or lexicon knows, that a question's verb
        begins with, is that verb cut short ('acknowledge') when it is the only verb that begins
        so; 'exp' begins expand, expire, expunge…, and which the admin meant is a guess."""
        return len(verb) > len(self.action) + 1 and _expansion(self.action) == verb


@lru_cache(maxsize=1024)
def _expansion(short: str) -> str | None:
    """The verb a short action no dictionary or lexicon knows stands for (per action, not per
    question): the one verb that begins with it, or None."""
    if not 2 <= len(short) <= 5 or wn.pos(short) or short in BASE_VOCAB:
        return None
    return wn.only_verb_beginning(short)


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
    # Verbs this catalog could map (its entries' classes, the admins' own): a clause holding
    # one is never skipped as a mere circumstance (circumstances.py).
    mappable: frozenset[str] = frozenset()

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
            if len(hits) > 1:  # "asign": a doubled letter typed once, not an extra "a" on "sign"
                hits = {w for w in hits if _undoubled(w) == form} or hits
            if len(hits) > 1:  # "creat": the last letter left off, not "treat" misspelt
                hits = {w for w in hits if w[:-1] == form} or hits
            meanings = {(verb_class(w), noun_group(w)) for w in hits}
            if len(meanings) == 1:
                return sorted(hits)[0]
            if hits:
                return None
        return None


def _undoubled(word: str) -> str | None:
    """The word with its one doubled letter typed once ('assign' -> 'asign'), or None."""
    doubled = [i for i in range(1, len(word)) if word[i] == word[i - 1]]
    return word[: doubled[0]] + word[doubled[0] + 1 :] if len(doubled) == 1 else None


def _split_name(permission: str, known: set[str]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    *resource, action_segment = permission.split(".")
    action_words = [base_of(w, known) for w in re.split(r"[_\-]", action_segment) if w]
    resource_words = [base_of(w, known) for seg in resource for w in re.split(r"[_\-]", seg) if w]
    # "bulk_delete" deletes: the first word that is a verb is the action, the rest qualify it.
    verbs = [w for w in action_words if w in ACTION_WORDS or w in lexicon.COMMON_VERBS]
    action = verbs[0] if verbs else action_words[0]
    qualifiers = tuple(w for w in action_words if w != action)
    return action, qualifiers, tuple(resource_words)


def _entry(item: CatalogEntry, known: set[str]) -> Entry:
    action, qualifiers, resource = _split_name(item.permission, known)
    prose = [join_phrases((item.description or "").lower())] + list(item.synonyms)
    bases = [base_of(w, known) for text in prose for w in words_of(text)]
    # "Read the GL": a short word the admin wrote in capitals is an abbreviation, a noun.
    shouted = {w.lower() for w in re.findall(r"\b[A-Z]{2}\b", item.description or "")}
    classes, leads = desc.described_actions(prose[0], known)
    lead_parts = {part for lead in leads for part in lead.split("_")}  # "roll_out": no "roll"
    nouns = desc.verbs_as_nouns(prose[0], known, action) - leads - lead_parts
    content = frozenset(w for w in bases if desc.is_content(w) or w in shouted) - leads - lead_parts
    content |= nouns
    parties = frozenset(party(w) for w in bases if w in lexicon.PARTIES)
    named_thing = not leads and not classes and (not wn.is_verb(action) or action in content)
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
        desc.compounds(prose[0], known, content),
        nouns,
        thing=named_thing,
        switches=desc.switched(prose[0]),
    )


_GIVING = frozenset(("issue", "grant", "give", "make", "perform", "process"))


def _verbs(
    action: str, leads: frozenset[str], resource: tuple[str, ...]
) -> tuple[frozenset[str], frozenset[str]]:
    own = {action, *leads}
    if action in _GIVING:  # "refunds.issue" refunds; "shipments.create" does not ship
        own |= {v for r in resource for v in wn.noun_verbs(r)}
    return frozenset(own | {s for v in own for s in wn.synonyms(v)}), frozenset(own)


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


def _catalog_words(catalog: Sequence[CatalogEntry]) -> set[str]:
    """Words of the permission names in the form the lexicon knows ('payments' -> 'payment')."""
    words: set[str] = set()
    for item in catalog:
        for word in re.split(r"[._\-]", item.permission):
            if word and word != "*":
                words.add(base_form(word, BASE_VOCAB) or _singular(word))
    return words


def _singular(word: str) -> str:
    """A permission name's plural as its noun: WordNet's first shorter form that is a noun
    ("royalties" -> "royalty", "embargoes" -> "embargo", "ads" -> "ad"), else without -s."""
    nouns = (f for f in forms(word) if f != word and wn.pos(f) & wn.NOUN)
    if word.endswith("s") and (found := next(nouns, None)):
        return found
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def _mappable_verbs(entries: list[Entry]) -> frozenset[str]:
    senses = {e.sense for e in entries} | {c for e in entries for c in e.described_actions}
    verbs = {v for v, cls in lexicon.VERB_CLASS.items() if cls in senses}
    verbs |= {v for e in entries for v in (*e.verbs, *e.lead_words, e.action)}
    return frozenset(verbs | {verb_class(v) for v in verbs})


def _with_senses(entries: list[Entry]) -> list[Entry]:
    """Two permissions on one resource are two different actions: an action word with a second
    sense ("open", "raise", "file") beside a sibling whose action already has its first sense
    ("accounts.read" beside "accounts.open") means the second one."""
    classes: dict[tuple[str, ...], set[tuple[str, str]]] = {}
    for entry in entries:
        classes.setdefault(entry.resource, set()).add((entry.action, verb_class(entry.action)))
    out = []
    for e in entries:
        sense, others = verb_class(e.action), lexicon.WORD_RELATED.get(e.action, ())
        taken = any(a != e.action and c == sense for a, c in classes[e.resource])
        out.append(replace(e, sense=others[0] if others and taken else sense))
    return out


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
    known = BASE_VOCAB | _catalog_words(catalog)
    concrete = [item for item in catalog if "*" not in item.permission]
    entries = _with_senses(_with_families([_entry(item, known) for item in concrete]))
    actions = set(ACTION_WORDS) | {e.action for e in entries}
    objects = set(lexicon.NOUN_GROUP) | {w for e in entries for w in (*e.resource, *e.qualifiers)}
    objects |= {w for e in entries for w in e.words} - actions - lexicon.COMMON_VERBS
    nouned = frozenset(w for e in entries for w in e.nouns)
    objects |= nouned
    known = known | objects
    synonyms = [
        (tuple(base_of(w, known) for w in words_of(s) if w not in lexicon.DETERMINERS), entry)
        for item, entry in zip(concrete, entries, strict=True)
        for s in item.synonyms
    ]
    synonyms = [(words, entry) for words, entry in synonyms if words]
    synonyms.sort(key=lambda pair: -len(pair[0]))  # longest phrase wins an overlap
    index = CatalogIndex(entries, synonyms, actions, objects, known)
    index.initials = desc.initials(concrete, known)
    index.nouned = nouned
    index.mappable = _mappable_verbs(entries)
    index.described = frozenset(w for item in concrete for w in words_of(item.description or ""))
    # The verbs the descriptions open with are the admin's vocabulary too: "alocate" an ISBN.
    leads = {lead for e in entries for lead in e.lead_words if "_" not in lead}
    for word in actions | objects | leads | lexicon.STOPWORDS | lexicon.COMMON_VERBS:
        for variant in deletes(word):
            index._typo.setdefault(variant, set()).add(word)
    return index

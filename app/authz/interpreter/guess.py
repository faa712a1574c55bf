"""Verbs the lexicon lacks, read through WordNet: a guess about the action that the object must
confirm.

"relocate" is a kind of "move": the catalog actions nearest to one of the verb's commonest senses
are the candidates, a shared sense before one hypernym step. The lexicon's tiers (match.py) come
first; this only runs when they found nothing and were not ambiguous.
"""

from dataclasses import replace
from functools import lru_cache

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.index import CatalogIndex, Entry
from app.authz.interpreter.match import (
    MODIFIER_ONLY,
    STRONG,
    Ask,
    Found,
    fit_of,
    known_objects,
    match,
    modifier_only,
    pick,
    score,
)
from app.authz.interpreter.words import Word, named

# Verbs about rights themselves ("permission granted", "ignore the rules") never reach WordNet:
# read as an action they would turn a claim about the answer into a permission.
_ABOUT_RIGHTS = lx.STEERING_VERBS | lx.ESCALATION | frozenset(("grant", "allow", "permit"))


# How far a verb read through WordNet may be from a catalog action: steps from the question's
# verb up its hypernyms plus steps from the action's verb up its own (0: a shared sense).
WORDNET_STEPS = 1


def by_wordnet(ask: Ask, index: CatalogIndex) -> Found | None:
    """A verb the lexicon lacks, read through WordNet: the catalog actions nearest to one of its
    commonest senses first ("relocate" is a kind of "move"), and the object must confirm the
    guess. None when WordNet names no catalog action near enough."""
    verb = ask.verb.extra.get("action") or ask.verb.base
    if not wn.is_verb(verb) or verb in _ABOUT_RIGHTS:
        return None
    mine = wn.reach(verb, WORDNET_STEPS)
    tiers: dict[int, list[Entry]] = {}
    for entry in index.entries:
        # "combine" is listed in a common sense of "merge" (blend, combine, merge): a shared
        # sense, seen from the catalog's side.
        own = verb in entry.verbs or entry.abbreviates(verb)  # "ack": acknowledge
        steps = 0 if own else wn.distance(mine, _entry_reach(entry.own_verbs))
        if steps is not None and steps <= WORDNET_STEPS:
            tiers.setdefault(steps, []).append(entry)
    found = None
    for steps in sorted(tiers):
        found = _fitting(ask, tiers[steps])
        near = [e for t in tiers.values() for e in t]
        if found.entry is not None and _head_elsewhere(ask, found.entry, index, near):
            return Found(found.entry, found.reason, confidence=MODIFIER_ONLY)
        if found.entry is not None or "could mean any of" in found.reason:
            # an object that only a modifier confirms ("a new loyalty tier") stays a weak guess
            weak = found.confidence <= MODIFIER_ONLY
            sure = MODIFIER_ONLY if weak else WORDNET_CONFIDENCE[steps]
            return Found(found.entry, found.reason, confidence=sure)
    return found


def _head_elsewhere(ask: Ask, entry: Entry, index: CatalogIndex, near: list[Entry]) -> bool:
    """'cancel the parking fine' guessed as voiding a parking permit: the object's head is
    another entry's own resource, and only a word qualifying it fits the guess."""
    head = ask.phrase[-1] if ask.phrase else None
    if head is None or not (head.extra.get("object") or head.entry) or score(entry, [head]) > 0:
        return False
    # "set up a payment arrangement for account 55102": nothing of the object fits the guess,
    # only the place does, while an entry this verb may also mean describes the object's head
    # ("post the image on our socials" is still the post: uploading is another act)
    placed = score(entry, known_objects(ask.phrase)) <= 0
    return any(
        e is not entry
        and fit_of(e, head, set(), False, False)
        >= (0.1 if placed and (e.thing or e in near) else STRONG)
        for e in index.entries
    )


# A guess through WordNet is worth less the further it went (calibrated on the dev set).
WORDNET_CONFIDENCE = {0: 0.9, 1: 0.8, 2: 0.7, 3: 0.6}


# Bounded like wordnet's per-word memory: catalogs are written by every tenant's admins.
@lru_cache(maxsize=wn.WORDS_REMEMBERED)
def _entry_reach(verbs: frozenset[str]) -> dict[int, int]:
    """The senses of a catalog action's own verbs and one step up from them."""
    merged: dict[int, int] = {}
    for verb in verbs:
        for synset, steps in wn.reach(verb, 1).items():
            merged[synset] = min(steps, merged.get(synset, steps))
    return merged


def _fitting(ask: Ask, candidates: list[Entry]) -> Found:
    """A verb read through WordNet is a guess about the action, so the object must confirm it:
    with no object in the catalog's words ("move JIRA-123", "relocate the printer") it fails
    closed."""
    # A person it is done for ("the customer's office") confirms no guessed action.
    # A place ("to the hospital") confirms nothing when the object is an action noun that no
    # candidate describes ("send a fax").
    objects = [x for x in ask.phrase if x.extra.get("object") or x.entry]
    head = ask.phrase[-1] if ask.phrase else None
    foreign = head is not None and head.kind == w.VERB and not objects
    if not (foreign and all(head.base not in e.words for e in candidates)):
        objects += ask.hints
    found = pick(candidates, objects, parties=False) if objects else None
    if found and named(ask.phrase):
        return modifier_only(found, known_objects(ask.phrase), candidates)
    if found and found.entry and _unknown_head(ask.phrase, found.entry):
        if _owner_only_qualifies(ask.phrase, found.entry):  # another thing the owner has
            return Found(None, "'{phrase}': its object is not what the catalog's entry acts on")
        return Found(found.entry, found.reason, confidence=MODIFIER_ONLY)
    return found or Found(None, "'{phrase}': what it applies to is not in the permission catalog")


def _unknown_head(phrase: list[Word], entry: Entry) -> bool:
    """'add a new loyalty tier': a head noun the catalog does not know, after a modifier that
    fits, is some other thing. An owner ('the customer's phone number') is what the action is
    done to, and reading a thing's parts is reading the thing."""
    head = phrase[-1] if phrase else None
    if head is None or head.kind != w.UNKNOWN:
        return False
    # "take the deposit straight away": a word that may be an adjective or adverb is no head,
    # unless it is written as a plural ("the essay prompts"); a lower-case word no dictionary
    # knows ("the waitlist") is a common noun the catalog does not name, not a name or an id
    plural = head.text.lower() != head.base
    if wn.pos(head.base) & (wn.ADJ | wn.ADV) and not plural:
        return False
    if not (wn.pos(head.base) & wn.NOUN or _unknown_word(head)):
        return False
    if not any(x.extra.get("object") or x.entry for x in phrase[:-1]):
        return False  # "log the found passport in the lost property book": the place chose it
    owned = any(_possessive(x) for x in phrase) and not _owner_only_qualifies(phrase, entry)
    return not owned and entry.sense not in lx.VIEWING


def _unknown_word(word: Word) -> bool:
    """A lower-case word no dictionary knows, too long and voiced for shorthand ('rm 12')."""
    text = word.text
    vowels = sum(c in "aeiouy" for c in text)
    return (
        not wn.pos(word.base)
        and text.isalpha()
        and text.islower()
        and len(text) >= 5
        and vowels >= 2
    )


def _possessive(word: Word) -> bool:
    return word.token is not None and word.token.possessive


def _owner_only_qualifies(phrase: list[Word], entry: Entry) -> bool:
    """'renew the library's subscription' against 'Renew library loans': the owner only
    qualifies the entry's resource there, and nothing else of the phrase fits it, so the
    subscription is another thing the library has, not a loan (a different target)."""
    owners = [x for x in phrase[:-1] if _possessive(x)]
    others = [x for x in phrase[:-1] if not _possessive(x) and (x.extra.get("object") or x.entry)]
    qualifying = {q for h, q in entry.compounds if h in entry.resource and h != q}
    return (
        bool(owners)
        and not others
        and all(x.base in qualifying and x.base != entry.resource[-1] for x in owners)
    )


def by_phrasal_sense(ask: Ask, compound: str, index: CatalogIndex) -> Found | None:
    """'pull the student database out': the phrasal verb WordNet knows is read in its own
    sense before the bare verb's class ("pull" reads). In a common sense the two share, "pull
    out" and "pull" are "extract": a lexicon verb of another class, so that class is the
    question. A common sense of another class that the bare verb does not share ("pull off" is
    "tweak", "pull down" is "raze") is too far to map, but the bare verb's reading is no answer
    either. Either way, with no entry for the phrasal sense it fails closed. None when the
    phrasal verb means nothing the bare verb does not, or the bare verb does not view."""
    bare = lx.VERB_CLASS.get(ask.verb.base)
    # Only a viewing verb is read this way: reading is what an agent most often holds, so a
    # phrasal verb that does more than look must not pass as a look. Other verbs keep their
    # reading with the particle dropped ("send back", "sort out" would otherwise be read
    # through a far sense: "remit", "correct").
    if bare not in lx.VIEWING or compound in lx.VERB_CLASS or not wn.is_verb(compound):
        return None
    senses = sorted(s for s in wn.synonyms(compound) if lx.VERB_CLASS.get(s) not in (None, bare))
    if not senses:
        return None
    for sense in (s for s in senses if s in wn.synonyms_with(compound, ask.verb.base)):
        verb = Word(ask.verb.text, sense, w.ACTION, ask.verb.token)
        found = match(replace(ask, verb=verb), index)
        if found.entry is not None or "could mean any of" in found.reason:
            return replace(found, confidence=min(found.confidence, WORDNET_CONFIDENCE[0]))
    said = compound.replace("_", " ")
    return Found(
        None,
        f"'{{phrase}}': '{said}' may mean '{senses[0].replace('_', ' ')}'; no catalog permission covers it",
    )

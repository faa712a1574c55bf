"""The vocabulary every catalog is read against, and the forms its words are reduced to.

The lexicon's words are never "corrected" into catalog words, and a description's words take
the form a question's words will take ("flights" -> "flight"), so that the two meet.
"""

import re

from app.authz.interpreter import lexicon
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter.text import base_form, forms, lemma

BASE_VOCAB = (
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


def words_of(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z0-9\-]*", text.lower().replace("_", " ")) if w]


def base_of(word: str, known: set[str]) -> str:
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


def shorthand(word: str, words: set[str]) -> str | None:
    """'acct' -> 'account', 'rpts' -> 'report', 'pymt' -> 'payment': a word no dictionary
    knows, of three to five letters and at most one vowel, whose letters stand in order in
    exactly one catalog word
    that begins with the same letter and is longer by two or more. None when unsure."""
    if not 3 <= len(word) <= 5 or not word.isalpha() or wn.pos(word) or word in BASE_VOCAB:
        return None
    if sum(ch in "aeiou" for ch in word) > 1:
        return None  # shorthand drops vowels ("rpts", "acct"); "expos" is a word cut short
    short = word[:-1] if word.endswith("s") and len(word) > 3 else word  # "rpts"
    hits = {
        c for c in words if c[:1] == short[:1] and len(c) >= len(short) + 2 and _in_order(short, c)
    }
    return hits.pop() if len(hits) == 1 else None


def _in_order(letters: str, word: str) -> bool:
    rest = iter(word)
    return all(ch in rest for ch in letters)

"""Actions a question names by their noun: "a referral to dermatology", "Cancellation of ...".

"Is a referral to dermatology something I can do?" asks to refer; "Cancellation of patient
22190's appointment - is that within my rights?" asks to cancel. WordNet's derivationally
related forms give the verb of such a noun; only nouns with a suffix that makes an action of a
verb count ("-al", "-ment", "-tion", ...), so "invoice" or "record" never turn into actions.
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.words import Word

_SUFFIXES = ("al", "ment", "tion", "sion", "ance", "ence", "ure", "ing")
# Light and vague verbs carry no action of their own: "do a referral", "handle the enrolment".
_EMPTY = lx.VAGUE_VERBS | lx.word_set("do make carry_out perform")


def verb_of(word: Word) -> str | None:
    """The verb a nominal action stands for, or None."""
    if word.extra.get("modifier"):
        return None  # "the running scanner": a gerund before its noun only describes it
    if word.base in lx.NOMINAL_ACTIONS:
        return lx.NOMINAL_ACTIONS[word.base]
    text = word.text.lower()
    if word.base in lx.ABOUT_RIGHTS or not text.endswith(_SUFFIXES):
        return None
    if text.endswith("ing"):  # "the onboarding": a gerund names its own verb
        return word.base if word.base != text and wn.is_verb(word.base) else None
    verbs = [v for v in wn.noun_verbs(word.base) if len(v) > 2]
    known = [v for v in verbs if v in lx.VERB_CLASS]
    return (known or verbs or [None])[0]


def empty(verbs: list[Word]) -> bool:
    """No verb, or only verbs that name no action by themselves ("do", "handle")."""
    return all(
        v.base in _EMPTY and "action" not in v.extra and "particle" not in v.extra for v in verbs
    )


def as_verb(words: list[Word]) -> Word | None:
    """The first nominal action among a group's words, as the verb it names."""
    found = as_verbs(words)
    return found[0] if found else None


def as_verbs(words: list[Word]) -> list[Word]:
    """Every nominal action among a group's words, as the verbs they name: "the reading and
    the deleting of the documents" asks both."""
    found = []
    for word in words:
        verb = verb_of(word)
        if verb:
            kind = w.ACTION if verb in lx.VERB_CLASS else w.VERB
            found.append(Word(word.text, verb, kind, word.token, extra={"nominal": word.base}))
    return found

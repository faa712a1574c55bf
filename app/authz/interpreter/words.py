"""Giving each token of a question a role: action, object, filler, negation, or unknown."""

from dataclasses import dataclass, field, replace

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter.index import CatalogIndex, Entry
from app.authz.interpreter.text import Token, forms
from app.authz.interpreter.vocabulary import shorthand

# Roles. ACTION is a verb only, OBJECT a noun only, BOTH either ("email", "refund", "export").
ACTION, OBJECT, BOTH, VAGUE, VERB = "action", "object", "both", "vague", "verb"
SEP, CONJ, NEG, TO, PREP, DET, STOP, ADV = "sep", "conj", "neg", "to", "prep", "det", "stop", "adv"
PRON, BROAD, PARTY, NAME, ARG, CONTENT = "pron", "broad", "party", "name", "arg", "content"
PARTICLE = "particle"
UNKNOWN, JUNK, SYNONYM, PERMREF = "unknown", "junk", "synonym", "permref"
PERMREF_TOKEN = "zzpermissionref"  # stands where a permission was written by its name


@dataclass
class Word:
    text: str
    base: str
    kind: str
    token: Token | None = None
    entry: Entry | None = None  # set when an admin's synonym phrase matched here
    corrected: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def gerund(self) -> bool:
        return self.text.lower().endswith("ing")

    @property
    def plural(self) -> bool:
        low = self.text.lower()
        return low.endswith("s") and not low.endswith("ss") and low != self.base


def named(phrase: list[Word]) -> bool:
    """English noun phrases end in their head: 'the new version' is a version, whatever 'new'."""
    return bool(phrase) and bool(phrase[-1].extra.get("object") or phrase[-1].entry)


def _base(token: Token, index: CatalogIndex, after_verb: bool = False) -> tuple[str, bool]:
    if (
        token.kind != "word"
        or any(c.isdigit() for c in token.lower)
        or token.lower == PERMREF_TOKEN
    ):
        return token.lower, False
    found = index.base(token.lower) or _phrasal(token.lower, index)
    if found:
        return found, False
    again = _again(token.lower, index)
    if again:
        return again, False
    english = _english(token.lower)
    if english:  # a real word is not a typo of the catalog's: "watch" is not "patch"
        return english, False
    fixed = index.correct(token.lower, want_object=after_verb)
    fixed = fixed or shorthand(token.lower, index.object_words)  # "acct", "rpts"
    return (fixed, True) if fixed else (token.lower, False)


def _phrasal(word: str, index: CatalogIndex) -> str | None:
    """'look-up', 'sign-off': a phrasal verb the lexicon knows, written with a hyphen."""
    verb, _, particle = word.partition("-")
    joined = f"{verb}_{particle}"
    return joined if particle in lx.PARTICLES and joined in index.action_words else None


def _again(word: str, index: CatalogIndex) -> str | None:
    """'reprint' prints again, 'redeploy' deploys again: the action is the catalog's."""
    if not word.startswith("re") or len(word) < 6:
        return None
    found = index.base(word[2:])
    return found if found in index.action_words else None


def _english(word: str) -> str | None:
    """The form of a common English word ('watching' -> 'watch', a verb form first), or None.
    Only words WordNet's corpus uses count, and stems of four letters or more: 'calender' and
    'raed' (-> 'ra') stay typos to correct."""
    known = [f for f in forms(word) if (f == word or len(f) >= 4) and wn.common(f)]
    return next((f for f in known if wn.is_verb(f)), known[0] if known else None)


def _punct_kind(text: str) -> str:
    if text in lx.JUNK:
        return JUNK
    return CONJ if text in lx.CONJUNCTIONS else SEP


def _kind(token: Token, base: str, index: CatalogIndex, next_word: bool) -> str:
    """The role of one token from its base form alone (position is the grouper's business)."""
    if token.kind == "punct":
        return _punct_kind(token.text)
    if token.kind != "word" or any(c.isdigit() for c in base):
        return ARG
    if token.lower == PERMREF_TOKEN:
        return PERMREF
    for kind, words in ((CONJ, lx.CONJUNCTIONS), (SEP, lx.SEPARATORS), (NEG, lx.NEGATORS)):
        if base in words or token.lower in words:
            return kind
    if base == "to":
        return TO
    if base in lx.PARTICLES and base not in index.object_words:
        return PARTICLE
    if base in lx.PREPOSITIONS:
        return PREP
    if base in _QUANTIFIERS and not next_word:
        return PRON  # "hide a few", "delete several": the quantity points back at a noun
    if base in lx.DETERMINERS and (next_word or base not in lx.PRONOUNS | lx.BROAD):
        return DET
    if base in lx.BROAD:
        return BROAD
    if base in lx.PRONOUNS:
        return PRON
    return _content_kind(token, base, index)


# "we've", "they're", "you'll", "I'd": a subject pronoun with its auxiliary, never an action.
_SUBJECT_PRONOUNS = frozenset(("i", "you", "we", "they", "he", "she", "it", "there", "who"))
_AUXILIARY_ENDINGS = frozenset(("ve", "re", "ll", "d", "m", "s"))


def _contraction(word: str) -> bool:
    subject, _, ending = word.partition("'")  # tokens hold only the plain apostrophe
    return subject in _SUBJECT_PRONOUNS and ending in _AUXILIARY_ENDINGS


def _content_kind(token: Token, base: str, index: CatalogIndex) -> str:
    if _contraction(token.lower):
        return STOP
    is_action = base in index.action_words
    is_object = base in index.object_words
    if base in lx.STOPWORDS and not (is_action or is_object):
        return STOP
    known = is_action or is_object or base in lx.COMMON_VERBS
    if token.capitalized and not token.sentence_start and not known:
        return NAME
    if token.possessive and not is_object:
        return NAME
    if base in lx.VAGUE_VERBS and not is_object:
        return VAGUE
    if is_object and (is_action or base in index.nouned):
        return BOTH  # "copy" is the description's noun, and still a verb the catalog lacks
    if is_action:
        return ACTION
    if is_object:
        return OBJECT
    for kind, words in ((PARTY, lx.PARTIES), (CONTENT, lx.CONTENT_NOUNS), (VERB, lx.COMMON_VERBS)):
        if base in words:
            return kind
    if base in lx.NOMINAL_ACTIONS:
        return BOTH
    if base.endswith("ly") and len(base) > 4:
        return ADV
    return UNKNOWN


# Quantifiers that stand for a noun when none follows them.
_QUANTIFIERS = frozenset(("few", "several", "some", "both", "many", "couple"))
# Words about rights that, right before "to", only frame the question.
_FRAMING = frozenset(("allow", "permit", "authorize", "authorise", "entitle"))


def _match_synonym(bases: list[str], kinds: list[str], start: int, phrase: tuple[str, ...]) -> int:
    """End index (exclusive) when phrase matches from start, skipping determiners; else 0."""
    i = start
    for want in phrase:
        while i < len(bases) and kinds[i] == DET and i > start:
            i += 1
        if i >= len(bases) or bases[i] != want:
            return 0
        i += 1
    return i


def _compounds(tokens: list[Token], index: CatalogIndex) -> list[Token]:
    """'stock-levels' is 'stock levels' and 'ware house' is 'warehouse' when only that reading
    gives words the catalog knows."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        parts = token.lower.split("-")
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            token.kind == "word"
            and len(parts) > 1
            and not index.base(token.lower)
            and all(index.base(p) in index.object_words for p in parts if p)
        ):
            out += [replace(token, text=p, lower=p, lemma=p) for p in parts if p]
            i += 1
            continue
        halves = _halves(token, index)
        if halves:  # "keycard": two catalog words written as one
            out += [replace(token, text=h, lower=h, lemma=h) for h in halves]
            i += 1
            continue
        if (
            nxt is not None
            and token.kind == nxt.kind == "word"
            and not index.base(token.lower)
            and index.base(token.lower + nxt.lower) in index.object_words
        ):
            joined = token.lower + nxt.lower
            out.append(replace(token, text=f"{token.text} {nxt.text}", lower=joined, lemma=joined))
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _halves(token: Token, index: CatalogIndex) -> tuple[str, str] | None:
    """The one split of a word the catalog does not know (WordNet at most as a noun) into two
    catalog nouns: 'keycard' is 'key card', as 'Cut key cards' writes it."""
    low = token.lower
    if token.kind != "word" or len(low) < 6 or not low.isalpha():
        return None
    # the first half as written ("key"), the second in any form ("cards")
    cuts = [k for k in range(3, len(low) - 2) if low[:k] in index.object_words]
    if not cuts or index.base(low) or wn.pos(low) & ~wn.NOUN:
        return None  # a word the catalog knows, or a verb or adjective, is meant as written
    splits = [(low[:k], low[k:]) for k in cuts if index.base(low[k:]) in index.object_words]
    return splits[0] if len(splits) == 1 else None


def classify(tokens: list[Token], index: CatalogIndex) -> list[Word]:
    tokens = _compounds(tokens, index)
    bases: list[tuple[str, bool]] = []
    for token in tokens:
        before = bases[-1][0] if bases else ""
        after_verb = before in index.action_words or before in lx.DETERMINERS
        bases.append(_base(token, index, after_verb))
    words: list[Word] = []
    for i, (token, (base, fixed)) in enumerate(zip(tokens, bases, strict=True)):
        next_word = i + 1 < len(tokens) and tokens[i + 1].kind != "punct"
        kind = _kind(token, base, index, next_word)
        if base in _FRAMING and i + 1 < len(tokens) and tokens[i + 1].lower == "to":
            kind = STOP  # "am I allowd to ...", "permit to ...": the frame of the question
        word = Word(token.text, base, kind, token, corrected=fixed)
        word.extra["object"] = base in index.object_words
        if word.gerund and base in lx.NOMINAL_ACTIONS:  # "booking a shipment" books one
            verb = next((f for f in forms(token.lower) if f in index.action_words), None)
            if verb:
                word.extra["verb_base"] = verb
        words.append(word)
    return _apply_synonyms(words, index)


def _apply_synonyms(words: list[Word], index: CatalogIndex) -> list[Word]:
    """Replace an admin's synonym phrase by one word that carries its permission."""
    if not index.synonyms:
        return words
    bases = [w.base for w in words]
    kinds = [w.kind for w in words]
    out: list[Word] = []
    i = 0
    while i < len(words):
        for phrase, entry in index.synonyms:
            end = _match_synonym(bases, kinds, i, phrase)
            if end:
                text = " ".join(w.text for w in words[i:end])
                synonym = Word(text, phrase[-1], SYNONYM, words[i].token, entry=entry)
                if end - i == 1:  # "view" may mean document.read to the admin, not for calendars
                    synonym.extra["plain"] = words[i]
                out.append(synonym)
                i = end
                break
        else:
            out.append(words[i])
            i += 1
    return out

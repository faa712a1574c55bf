"""Text handling for the built-in interpreter: cleaning, script checks, tokens and word forms."""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from app.authz.interpreter import lexicon, wordnet

EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
ADDRESS = (
    r"\b\d+[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?i:street|st|road|rd|lane|ln|avenue|ave|drive|dr"
    r"|close|court|ct|way|place|pl|crescent|boulevard|blvd|terrace|row|square)\b\.?"
)
_TOKEN = re.compile(
    # "Booking.com" is a site, one name: its full stop ends no sentence.
    rf"(?P<email>{EMAIL})|(?P<url>https?://\S+|(?:[A-Za-z0-9\-]+\.)+(?:com|org|net|io|gov|edu)\b)"
    r"|(?P<quote>\"[^\"]*\")"
    # "118 Alder Lane", "12 Kestrel Close": a number, capitalised names and a street word are
    # one address, whatever its words mean elsewhere ("Close", "Order").
    rf"|(?P<address>{ADDRESS})"
    r"|(?P<money>[$€£]\s?\d[\d,.]*[kKmM]?|\d[\d,.]*\s?(?:usd|eur|gbp|dollars?|euros?|pounds?)\b)"
    # "A/B", "P/L": two single letters joined by a slash are one name, not two words.
    r"|(?P<letters>(?<![\w/])[A-Za-z]/[A-Za-z](?![\w/]))"
    r"|(?P<word>[A-Za-z0-9][A-Za-z0-9_'\-]*)|(?P<punct>[,;.!?&/:()\[\]{}<>=|])"
)
# Dashes between words separate them ("documents—and purge"); a hyphen inside a word stays.
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": " - ", "—": " - "})
# Words far more common in other languages than in English questions about permissions.
_FOREIGN = lexicon.word_set(
    "puedo leer los las del para por est-ce je peux les des und der die das ich kann darf "
    "posso per il della che non sono mit von ist eine einen le la et ou mes est pas"
)


@dataclass
class Token:
    text: str  # as written, for phrases shown back to people
    lower: str
    kind: str = "word"  # word | email | url | quote | money | letters | punct
    lemma: str = ""
    capitalized: bool = False
    possessive: bool = False
    sentence_start: bool = False


def clean(question: str) -> str:
    """NFKC, no invisible format characters, plain quotes and dashes, single spaces."""
    text = unicodedata.normalize("NFKC", question)
    text = re.sub(r"\b(?:e\.g|i\.e|etc|viz)\.", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\b([ap])\.m\.", r"\1m", text, flags=re.IGNORECASE)  # "6 a.m.": a time
    # "Mrs. Halloran": a title's full stop ends no sentence, so the name is not a new clause.
    text = re.sub(r"\b(Mr|Mrs|Ms|Mx|Dr|Prof|Sr|Jr)\.(?=\s)", r"\1", text)
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n\t"
    )
    return " ".join(text.translate(_QUOTES).split())


def script_problem(text: str) -> str | None:
    """Why the text cannot be read as English, or None. Homoglyphs fail here too, on purpose."""
    for ch in text:
        if ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN"):
            return "the question uses a non-Latin script; ask in English"
    words = [w.lower() for w in re.findall(r"[A-Za-z\-]+", text)]
    foreign = sum(w in _FOREIGN for w in words)
    english = sum(w in lexicon.STOPWORDS for w in words)
    if foreign >= 2 and foreign > english:
        return "the question does not look like English; ask in English"
    return None


def strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


# A light verb with an action noun is that action: "have a look", "take a quick peek at".
_LIGHT_VERB = re.compile(
    r"\b(?:have|has|had|having|take|takes|took|taking|get|grab|give)\s+an?\s+"
    r"(?:(?:quick|quicker|brief|little|short|closer|close|proper|first|second|final)\s+)?"
    r"([a-z]+)\b",
    re.IGNORECASE,
)


def _light_verb(match: re.Match[str]) -> str:
    noun = match[1].lower()
    if not wordnet.pos(noun) & wordnet.NOUN:
        return match[0]
    if noun in lexicon.VERB_CLASS:
        return noun
    # "have a look?" looks at what was named; "have a look at X" keeps its "at"
    if f"{noun}_at" in lexicon.VERB_CLASS:
        follows_at = re.match(r"\s+at\b", match.string[match.end() :], re.IGNORECASE)
        return noun if follows_at else f"{noun}_at"
    return match[0]


def join_phrases(text: str) -> str:
    """Join multi-word expressions ('look at', 'pull request') into single tokens."""
    text = _LIGHT_VERB.sub(_light_verb, text)
    lower = text.lower()
    for phrase, joined in _PHRASE_ORDER:
        if phrase in lower:
            text = re.sub(rf"\b{re.escape(phrase)}\b", joined, text, flags=re.IGNORECASE)
    return text


_PHRASE_ORDER = sorted(lexicon.PHRASES.items(), key=lambda kv: -len(kv[0]))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    start = True
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "word"
        raw = match.group()
        if kind == "punct":
            tokens.append(Token(raw, raw, "punct"))
            start = raw in ".!?;:()[]{}"
            continue
        possessive = kind == "word" and raw.lower().endswith(("'s", "s'"))
        word = re.sub(r"'s$|'$", "", raw) if possessive else raw
        lower = strip_accents(word.lower()).strip("-'")
        capital = word[:1].isupper() and not word.isupper() and word != "I"
        tokens.append(Token(word, lower, kind, lower, capital, possessive, start))
        start = False
    return tokens


def forms(word: str) -> Iterator[str]:
    """Candidate base forms of a word, most likely first (the caller keeps the first known one)."""
    yield word
    if word.startswith("re-") and len(word) > 5:  # "re-read" reads, "re-share" shares
        yield from forms(word[3:])
    for table in (lexicon.IRREGULAR, lexicon.BRITISH, lexicon.SHORTHAND):
        if word in table:
            yield table[word]
    irregular = wordnet.irregular(word)  # WordNet's exception lists: "rang" -> "ring"
    if irregular:
        yield irregular
    for british, american in (
        ("isation", "ization"),
        ("ise", "ize"),
        ("ised", "ized"),
        ("ising", "izing"),
        ("our", "or"),
    ):
        if word.endswith(british):
            yield from forms_of_suffix(word[: -len(british)] + american)
    yield from forms_of_suffix(word)


def forms_of_suffix(word: str) -> Iterator[str]:
    yield word
    if word.endswith("ies") and len(word) > 4:
        yield word[:-3] + "y"
    if word.endswith("ied") and len(word) > 4:
        yield word[:-3] + "y"
    for suffix in ("s", "es", "ed", "ing", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            stem = word[: -len(suffix)]
            yield stem
            if suffix in ("ed", "ing"):
                yield stem + "e"
                if len(stem) > 2 and stem[-1] == stem[-2]:
                    yield stem[:-1]  # stopped -> stop


def lemma(word: str) -> str | None:
    """The word's dictionary form when WordNet knows one: 'flights' -> 'flight'. Stems shorter
    than four letters do not count ('raed' is not 'ra')."""
    return next((f for f in forms(word) if (f == word or len(f) >= 4) and wordnet.pos(f)), None)


def base_form(word: str, known: Iterable[str] | set[str]) -> str | None:
    """The first candidate form of the word that the vocabulary knows, or None."""
    for form in forms(word):
        if form in known:
            return form
    return None


def damerau1(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or transposition."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = (diff + [0, 0])[:2]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} | {word}

"""Finding who the agent would act for: "for user alice@acme.com", "as Carol's assistant"."""

import re

from app.authz.interpreter.lexicon import word_set
from app.authz.interpreter.text import ADDRESS, EMAIL

_NAME = r"(?-i:[A-Z][a-zA-Z\-]+(?:\s[A-Z][a-zA-Z\-]+)?)"
_ID = rf"(?:{EMAIL}|{_NAME})"
_ANY_ID = rf"(?:{EMAIL}|{_NAME}|[A-Za-z][\w.\-]*)"  # after "user" even a lowercase login
_ROLE = r"(?:user|customer|client|employee|member|account|principal|boss|manager|colleague)"
_HELPER = r"(?:assistant|agent|delegate|proxy|representative|deputy|secretary|helper|bot)"
_OWNER = r"(?:my|our|the)\s+"
# Names of days and months are capitalised but are dates, never principals.
_NOT_NAMES = word_set(
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May "
    "June July August September October November December Q1 Q2 Q3 Q4 I "
    # Nobody in particular: "Nobody asked me to ...", "Everyone wants me to ..."
    "Nobody Everyone Everybody Someone Somebody Anyone Anybody None"
)
# "The CFO asked me", "My manager wants me": a capitalised determiner starts no name.
_NOT_FIRST = word_set("The A An My Our Your This That These Those No Some Every Any")
# Words of a job title are not these: "on behalf of someone in Finance" names no one.
_NOT_TITLE = (
    r"(?!(?:someone|somebody|anyone|anybody|everyone|everybody|in|at|of|from|with|for|and|or|to)\b)"
)

# "Acting on behalf of Tom Kirby, ...": the participle belongs to the phrase, it asks nothing.
_ACTING = r"(?:\b(?:acting|working|writing|asking)\s+)?"

_PATTERNS = [
    # "on behalf of warehouse lead Grace Liu": a job title before the name
    rf"{_ACTING}\bon\s+behalf\s+of\s+(?:{_OWNER})?(?-i:(?:{_NOT_TITLE}[a-z][a-z\-]*\s+){{1,3}})(?P<who>{_NAME})",
    rf"{_ACTING}\bon\s+behalf\s+of\s+(?:{_OWNER})?(?:{_ROLE},?\s+)?(?P<who>{_ANY_ID})",
    # "Sofia Brandt asked me to order ...": the person who asks is the one acted for
    # ... also with an apposition: "Eleanor Voss, a subscriber, asked me to ..."
    rf"(?:^|(?<=[.;:!?]\s))(?P<who>{_ID})(?:,\s+(?:a|an|the|our|my)\s+[\w\s\-]{{1,30}}?,)?\s+"
    r"(?:has\s+|had\s+)?"
    r"(?:asked|asks|wants|wanted|needs|needed|requested)(?=\s+me\b)",  # "me" stays: I ask
    rf"\bon\s+(?P<who>{_ID})'s?\s+behalf\b",
    rf"\bas\s+(?P<who>{_ID})'s?\s+{_HELPER}\b",
    rf"\bas\s+(?:the\s+)?{_HELPER}\s+(?:of|for|to)\s+(?:{_ROLE}\s+)?(?P<who>{_ANY_ID})",
    rf"\b(?:acting|working|covering)\s+(?:as|for)\s+(?:{_ROLE}\s+)?(?P<who>{_ID})",
    rf"\bin\s+(?P<who>{_ID})'s?\s+name\b",
    rf"\bin\s+the\s+name\s+of\s+(?:{_OWNER})?(?:{_ROLE},?\s+)?(?P<who>{_ID})",
    rf"\brepresenting\s+(?:{_OWNER})?(?:{_ROLE},?\s+)?(?P<who>{_ID})",
    rf"\bfor\s+(?:{_OWNER})?{_ROLE}\s+(?P<who>{_ANY_ID})",
    rf"\bfor\s+(?P<who>{EMAIL})",
    rf"\bfor\s+(?P<who>{_NAME})(?!'s)\b",
]
_ASKS = re.compile(r"\b(?:asked|asks|wants|wanted|needs|needed|requested)$", re.IGNORECASE)
_MORE = re.compile(rf"^\s*(?:,|and|or|&)\s+(?:{_ROLE}\s+)?({EMAIL}|{_NAME})", re.IGNORECASE)


# Keywords match in any case; a bare name must still start with a capital letter (see _NAME).
_COMPILED = [re.compile(p, re.IGNORECASE) for p in _PATTERNS]


def extract(text: str, reserved: set[str]) -> tuple[list[str], str]:
    """The principals named and the text without those phrases.

    `reserved` holds catalog words ("for Slack" names a tool, not a person).
    """
    found: list[str] = []
    for pattern in _COMPILED:
        while match := pattern.search(text):
            who = match["who"].strip().rstrip(".")
            first = who.split()[0]
            if who in _NOT_NAMES or first in _NOT_NAMES or first in _NOT_FIRST:
                break
            # "for Slack" names a tool; "Pippa Grant asked me" is a person whatever "grant" is
            full = bool(_ASKS.search(match[0])) and len(who.split()) == 2
            if any(w.lower() in reserved for w in who.split()) and not full:
                break
            found.append(who)
            end = match.end()
            while more := _MORE.match(text[end:]):
                found.append(more[1])
                end += more.end()
            text = f"{text[: match.start()]} {text[end:]}"
    found = list(dict.fromkeys(found))
    # "... on her behalf", "Can I, for her?": the one person already named, unless another
    # is named too ("Alice asked me to email Bob on his behalf": his is not Alice's).
    if not found and _PRONOUN_BEHALF.search(text):
        # "Gareth Price is off sick; on his behalf, can I ...": the one person it names.
        names = {m[0] for m in _FULL_NAME.finditer(text) if _a_person(m[0], reserved)}
        found = list(names) if len(names) == 1 else []
        if found:
            text = text.replace(found[0], " ")
    if len(found) == 1 and not _another_name(text, reserved):
        text = _PRONOUN_BEHALF.sub(" ", text)
    return found, text


_FULL_NAME = re.compile(r"\b[A-Z][a-z][a-zA-Z\-]*\s[A-Z][a-z][a-zA-Z\-]*\b")


def _a_person(name: str, reserved: set[str]) -> bool:
    first = name.split()[0]
    return (
        first not in _NOT_NAMES
        and first not in _NOT_FIRST
        and not any(w in _NOT_NAMES or w.lower() in reserved for w in name.split())
    )


# A capitalised word right after a determiner or a place's preposition names a thing ("our
# Twitter account", "on Facebook", "onto Expedia"), not a second person.
_CAPITALISED = re.compile(
    r"(?<![.!?:;]\s)(?<!^)(?<!^\s)"
    r"(?<!\bthe\s)(?<!\bour\s)(?<!\bmy\s)(?<!\byour\s)(?<!\btheir\s)(?<!\bon\s)(?<!\bin\s)"
    r"(?<!\bvia\s)(?<!\bat\s)(?<!\bonto\s)(?<!\binto\s)\b[A-Z][a-zA-Z\-]+"
)


def _another_name(text: str, reserved: set[str]) -> bool:
    """A capitalised word inside a sentence that is neither a date, an address ("210 Lowell
    Street") nor the catalog's."""
    text = re.sub(ADDRESS, " ", text)
    return any(
        m[0] not in _NOT_NAMES and m[0].lower() not in reserved for m in _CAPITALISED.finditer(text)
    )


_PRONOUN_BEHALF = re.compile(
    r"\bon\s+(?:her|his|their)\s+behalf\b|\bfor\s+(?:her|him|them)\b(?=\s*(?:[?.!]|$))"
    r"|\bto\s+act\s+for\s+(?:her|him|them)\b(?=\s*[?.!:;,])",
    re.IGNORECASE,
)

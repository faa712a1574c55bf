"""A question that only names a thing: no word of it may act (resolve.py then reads it as a
request to see the thing, one guess).

"meter reads for acct 55190?", "What are the lab results for May?" qualify; "Invoices?" (a bare
noun), "Export all accounts" (a sentence opening with a word that may be a verb) and
", reconnect service …" (a word standing where a verb stands) do not.
"""

from collections.abc import Sequence

from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.words import Word

_STRUCTURE = (w.SEP, w.CONJ, w.PREP, w.TO, w.DET)
# Before these a word continues a noun phrase; anywhere else it may stand as a verb.
_IN_PHRASE = (w.PREP, w.OBJECT, w.BOTH, w.ARG, w.NAME, w.DET, w.CONTENT, w.UNKNOWN)


def only_names(words: Sequence[Word]) -> bool:
    """No word of the question may act: only nouns, names, numbers, times, "what is/are";
    and more than a bare noun ("Invoices?" is too vague): an id, a name or a second noun."""
    content = [x for x in words if x.kind not in (*_STRUCTURE, w.SEP, w.ADV, w.STOP)]
    return (
        len(content) > 1
        and any(x.extra.get("object") for x in words)
        and all(
            _naming(x, i == 0 or words[i - 1].kind not in _IN_PHRASE) for i, x in enumerate(words)
        )
    )


def _naming(x: Word, first: bool) -> bool:
    low = x.text.lower()
    if x.kind in _STRUCTURE or x.kind in (w.SEP, w.ARG, w.NAME, w.PARTY, w.CONTENT):
        return True
    if x.kind in (w.OBJECT, w.BOTH):  # "Export all accounts": first, a verb
        return x.kind == w.OBJECT or (bool(x.extra.get("object")) and not first)
    if x.kind == w.UNKNOWN:  # "coliform", "wk", "today": never a verb; "reconnect ..." first
        return wn.never_a_verb(x.base) or (not wn.pos(x.base) and not first)
    told = x.kind == w.ADV and (bool(x.extra.get("object")) or not wn.is_verb(x.base))
    return low in _ASKING_WHAT or told


_ASKING_WHAT = frozenset(
    ("what", "what's", "which", "any", "all", "is", "are", "the", "our")
    + ("last", "next", "past", "this", "today", "tonight", "tomorrow", "yesterday")  # when
)

"""The built-in interpreter: deterministic, offline, and closed by default.

It proposes catalog permissions for the actions a question names. Every verb must map to
exactly one concrete permission; a verb that maps to none or to several, and any phrase it
cannot place, is returned as unresolved so that the answer is `allowed: false`.
"""

import re
from collections.abc import Sequence

from app.authz.interpreter import circumstances, idioms, modifiers, onbehalf, sentences, steering
from app.authz.interpreter import words as w
from app.authz.interpreter.index import CatalogIndex, build_index
from app.authz.interpreter.names_only import only_names
from app.authz.interpreter.parse import group
from app.authz.interpreter.resolve import REMARK, Result, resolve_groups
from app.authz.interpreter.text import clean, join_phrases, script_problem, tokenize
from app.authz.interpreter.types import CatalogEntry, Interpretation, Mapping, refusal
from app.authz.interpreter.words import classify

EXAMPLE = "e.g. 'Can I read documents for user alice@example.com?'"


def screen(question: str, max_chars: int) -> Interpretation | None:
    """The refusal for a question no interpreter should read: empty, too long, not English."""
    if not question or not question.strip():
        return refusal("", f"the question is empty; ask about an action, {EXAMPLE}")
    if len(question) > max_chars:
        return refusal(
            question[:60] + "…",
            f"the question is {len(question)} characters long; "
            f"the limit is {max_chars}: ask about one task at a time",
        )
    problem = script_problem(clean(question))
    return refusal(clean(question)[:80], problem) if problem else None


def interpret(
    question: str, catalog: Sequence[CatalogEntry], *, max_chars: int = 1000
) -> Interpretation:
    """Map a plain-words question to catalog permissions; never decide anything."""
    refused = screen(question, max_chars)
    if refused:
        return refused
    text = clean(question)
    index = build_index(tuple(_hashable(item) for item in catalog))
    principals, rest = onbehalf.extract(text, index.action_words | index.object_words)
    result = Result()
    for claim in steering.claims(rest):
        result.refuse(
            claim, "a statement about rights is not a question; policy decides", alarm=True
        )
    for order, sentence in steering.orders(rest):
        result.refuse(
            order, "an order about the answer is not a question; policy decides", alarm=True
        )
        rest = rest.replace(sentence, " ")  # its verb ("respond") asks for no action either
    rest = _literal_permissions(rest, index, result)
    words = modifiers.mark(classify(tokenize(join_phrases(rest)), index), index.described)
    idioms.mark_states(words)  # "mark job 12 as done" closes it
    circumstantial = circumstances.mark(words, index)  # "…, they've paid": no second ask
    parse = group(words)
    if any(x.base == "behalf" for x in words):  # "on her behalf": for whom, exactly?
        result.refuse("on behalf of", "say whom the agent acts for: 'on behalf of <name or email>'")
        principals = []  # "Alice asked me to email Bob on his behalf": not surely Alice
    for phrase, reason in parse.problems:
        result.refuse(phrase, reason, alarm=True)
    told = sentences.told(words, parse.groups)  # the story around the ask asks nothing
    if told or circumstantial:
        result.confidence *= REMARK
    resolve_groups(parse.groups, index, result, told, only_names(words))
    if len(principals) > 1:
        result.refuse(
            "on behalf of " + " and ".join(principals),
            "name one person to act for; ask once per person",
        )
    if not result.mappings and not result.unresolved:
        result.refuse(text[:80], f"no action that the catalog knows was found; {EXAMPLE}")
    return Interpretation(
        tuple(_dedupe(result.mappings)),
        tuple(result.unresolved),
        principals[0] if len(principals) == 1 else None,
        tuple(result.reasons),
        "builtin",
        tuple(result.alarms),
        round(result.confidence, 3),
    )


_DOTTED = re.compile(
    r"(?<![@/\w.])([A-Za-z][\w\-]+(?:\.(?:[A-Za-z][\w\-]+|\*)){1,3})(?![\w.]*@)(?![\w*])"
)


def _literal_permissions(text: str, index: CatalogIndex, result: Result) -> str:
    """'Can I use document.read?' names the permission itself; a made-up name is unresolved."""
    names = {e.permission for e in index.entries}
    prefixes = {e.permission.split(".")[0] for e in index.entries}

    def replace(match: re.Match[str]) -> str:
        name = match[1].lower()
        if name in names:
            result.mappings.append(Mapping(name, name))
            return f" {w.PERMREF_TOKEN} "
        if name.split(".")[0] in prefixes:
            result.refuse(name, f"'{name}' is not a permission in the catalog")
            return f" {w.PERMREF_TOKEN} "
        return match[0]

    return _DOTTED.sub(replace, text)


def _hashable(item: CatalogEntry) -> CatalogEntry:
    return CatalogEntry(item.permission, item.description, tuple(item.synonyms or ()))


def _dedupe(mappings: list[Mapping]) -> list[Mapping]:
    seen: dict[str, Mapping] = {}
    for mapping in mappings:  # the least sure reading of a permission speaks for it
        kept = seen.setdefault(mapping.permission, mapping)
        if mapping.confidence < kept.confidence:
            seen[mapping.permission] = Mapping(kept.phrase, kept.permission, mapping.confidence)
    return list(seen.values())

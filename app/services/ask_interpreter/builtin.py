"""The built-in interpreter: deterministic, offline, and closed by default.

It proposes catalog permissions for the actions a question names. Every verb must map to
exactly one concrete permission; a verb that maps to none or to several, and any phrase it
cannot place, is returned as unresolved so that the answer is `allowed: false`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.ask_interpreter import lexicon as lx
from app.services.ask_interpreter import onbehalf
from app.services.ask_interpreter import words as w
from app.services.ask_interpreter.index import CatalogIndex, Entry, build_index, noun_group, party
from app.services.ask_interpreter.index import verb_class as vclass
from app.services.ask_interpreter.parse import Group, group
from app.services.ask_interpreter.text import clean, join_phrases, script_problem, tokenize
from app.services.ask_interpreter.types import CatalogEntry, Interpretation, Mapping, refusal
from app.services.ask_interpreter.words import Word, classify

EXAMPLE = "e.g. 'Can I read documents for user alice@example.com?'"


@dataclass(frozen=True)
class _Found:
    entry: Entry | None
    reason: str = ""


class _Result:
    def __init__(self) -> None:
        self.mappings: list[Mapping] = []
        self.unresolved: list[str] = []
        self.reasons: list[str] = []

    def refuse(self, phrase: str, reason: str) -> None:
        self.unresolved.append(phrase)
        self.reasons.append(reason)


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
    parse = group(classify(tokenize(join_phrases(rest)), index))
    result = _Result()
    for phrase, reason in parse.problems:
        result.refuse(phrase, reason)
    _resolve_groups(parse.groups, index, result)
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
    )


def _hashable(item: CatalogEntry) -> CatalogEntry:
    return CatalogEntry(item.permission, item.description, tuple(item.synonyms or ()))


def _dedupe(mappings: list[Mapping]) -> list[Mapping]:
    seen: dict[str, Mapping] = {}
    for mapping in mappings:
        seen.setdefault(mapping.permission, mapping)
    return list(seen.values())


def _text(words: Sequence[Word]) -> str:
    return " ".join(x.text for x in words)


def _resolve_groups(groups: list[Group], index: CatalogIndex, result: _Result) -> None:
    antecedent: list[list[Word]] = []
    for g in groups:
        if not g.negated:
            _resolve(g, antecedent, index, result)
        antecedent = _named(g.phrases) or antecedent  # "them" points at a named thing


def _is_named(phrase: list[Word]) -> bool:
    """English noun phrases end in their head: 'the new version' is a version, whatever 'new'."""
    return bool(phrase) and bool(phrase[-1].extra.get("object") or phrase[-1].entry)


def _named(phrases: list[list[Word]]) -> list[list[Word]]:
    return [p for p in phrases if _is_named(p)]


def _objects(g: Group, antecedent: list[list[Word]]) -> list[list[Word]]:
    if _named(g.phrases):
        return g.phrases
    if g.pronoun and antecedent:
        return antecedent
    # "deploy the new version to production": the place names what the object did not.
    if _named(g.secondary) and not (g.fillers or g.pronoun):
        return _named(g.secondary)
    return g.phrases


def _resolve(g: Group, antecedent: list[list[Word]], index: CatalogIndex, result: _Result) -> None:
    if not g.verbs:
        if g.phrases:
            phrase = _text(g.phrases[0])
            result.refuse(phrase, f"no action was named for '{phrase}'; say what to do with it")
        return
    objects = _objects(g, antecedent)
    if not objects and g.broad and not g.pronoun:
        phrase = _text([*g.verbs, *g.broad])
        result.refuse(phrase, f"'{phrase}' is too broad; name what the action applies to")
        return
    people = [f for f in g.fillers if f.kind in (w.NAME, w.PARTY)]
    for verb in g.verbs:
        # An admin's synonym already names its object; places ("with the team") do not count.
        for phrase in (g.phrases if verb.entry else objects) or [[]]:
            _resolve_one(verb, phrase, people, index, result)


def _resolve_one(
    verb: Word, phrase: list[Word], people: list[Word], index: CatalogIndex, result: _Result
) -> None:
    shown = f"{verb.text} {_text(phrase)}".strip()
    if verb.kind in (w.UNKNOWN, w.VERB):
        result.refuse(shown, f"'{verb.text}' is not an action in the permission catalog")
        return
    if verb.kind == w.VAGUE and "action" not in verb.extra:
        result.refuse(shown, f"'{verb.text}' is too vague; name the action (read, update, ...)")
        return
    found = _synonym(verb, phrase) if verb.entry else _match(verb, phrase, people, index)
    if found.entry is None:
        result.refuse(shown, found.reason.replace("{phrase}", shown))
    else:
        result.mappings.append(Mapping(shown, found.entry.permission))


def _synonym(verb: Word, phrase: list[Word]) -> _Found:
    entry = verb.entry
    assert entry is not None
    known = [x for x in phrase if x.extra.get("object") or x.entry]
    if known and _score(entry, known) <= 0:
        return _Found(None, f"'{{phrase}}' does not fit {entry.permission}")
    return _Found(entry)


def _tiers(action: str) -> list:
    cls = vclass(action)
    return [
        lambda e: e.action == action,
        lambda e: vclass(e.action) == cls,
        lambda e: vclass(e.action) in lx.RELATED.get(cls, ()),
        lambda e: cls in e.described_actions,
    ]


def _match(verb: Word, phrase: list[Word], people: list[Word], index: CatalogIndex) -> _Found:
    action = verb.extra.get("action") or verb.base
    implied = None if "action" in verb.extra else lx.IMPLIED_OBJECT.get(verb.base)
    known = [x for x in phrase if x.extra.get("object") or x.entry] if _is_named(phrase) else []
    implied_words = [Word(implied, implied, w.OBJECT)] if implied else []
    tiers = [[e for e in index.entries if test(e)] for test in _tiers(action)]
    for candidates in filter(None, tiers):
        for objects in (implied_words, known):
            found = _pick(candidates, objects) if objects else None
            if found:
                return found
    if known:
        return _Found(None, "no catalog permission covers '{phrase}'")
    if phrase:
        return _Found(None, "'{phrase}': what it applies to is not in the permission catalog")
    if implied:  # "text a customer" names SMS; an email permission does not cover it
        return _Found(None, f"nothing in the catalog covers '{verb.text}' ({implied})")
    # With no object, only the action's own name or class may decide, and only if unique;
    # a person as the object must be a kind the admin described ("refund a customer").
    for candidates in filter(None, tiers[:2]):
        return _pick_only([e for e in candidates if _serves(e, people)] or candidates, people)
    return _Found(None, f"no permission in the catalog matches the action '{verb.text}'")


def _pick(candidates: list[Entry], objects: list[Word]) -> _Found | None:
    scored = [(_score(e, objects), e) for e in candidates]
    best = max(score for score, _ in scored)
    if best <= 0:
        return None
    top = [e for score, e in scored if score == best]
    return _Found(top[0]) if len(top) == 1 else _ambiguous(top)


def _pick_only(candidates: list[Entry], people: list[Word]) -> _Found:
    if len(candidates) > 1:
        return _ambiguous(candidates)
    if not _serves(candidates[0], people):
        who = " ".join(p.text for p in people)
        return _Found(None, f"'{{phrase}}': {candidates[0].permission} says nothing about '{who}'")
    return _Found(candidates[0])


def _serves(entry: Entry, people: list[Word]) -> bool:
    return all(p.kind == w.PARTY and party(p.base) in entry.parties for p in people)


def _ambiguous(entries: list[Entry]) -> _Found:
    names = ", ".join(sorted(e.permission for e in entries)[:5])
    return _Found(None, f"'{{phrase}}' could mean any of {names}; name the object")


def _score(entry: Entry, objects: list[Word]) -> float:
    groups = {noun_group(r) for r in entry.resource}
    score = 0.0
    for obj in objects:
        if obj.entry is not None:
            score += 3 if obj.entry.resource == entry.resource else 0
        elif obj.base in entry.resource or obj.base in entry.qualifiers:
            score += 3
        elif noun_group(obj.base) in groups:
            score += 2
        elif obj.base in entry.words:
            score += 1
    bases = {obj.base for obj in objects}
    missing = sum(q not in bases for q in entry.qualifiers)
    return score - 0.5 * missing if score > 0 else 0.0

"""Resolving verb groups into mappings: each verb with each of its objects, one permission or a
refusal.

A group's objects may be named in it, pointed back at ("delete them"), or stand in a place ("for
patient 28817"); a verb may be named by its noun ("a referral"), read whole with its particle
("shut down"), through the lexicon (match.py) and then WordNet (guess.py). Every guess lowers
the mapping's confidence, and anything left unplaced is refused, so the answer fails closed.
"""

from collections.abc import Sequence
from dataclasses import replace

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import nominal, transfer
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.groups import Group
from app.authz.interpreter.guess import by_phrasal_sense, by_wordnet
from app.authz.interpreter.index import CatalogIndex
from app.authz.interpreter.match import Ask, Found, match
from app.authz.interpreter.types import Mapping
from app.authz.interpreter.words import Word, named

# Verbs that only carry a permission named literally: "do I hold document.read?"
_CARRIERS = frozenset(("get", "call", "invoke", "exercise", "hold", "need", "use"))


class Result:
    """What the reading found so far: mappings, refusals and their reasons, alarms."""

    def __init__(self) -> None:
        self.mappings: list[Mapping] = []
        self.unresolved: list[str] = []
        self.reasons: list[str] = []
        self.alarms: list[tuple[str, str]] = []
        self.confidence = 1.0  # lowered by each remark the reading skipped

    def refuse(self, phrase: str, reason: str, *, alarm: bool = False) -> None:
        self.unresolved.append(phrase)
        self.reasons.append(reason)
        if alarm:
            self.alarms.append((phrase, reason))


def _text(words: Sequence[Word]) -> str:
    return " ".join(x.text for x in words)


def resolve_groups(
    groups: list[Group],
    index: CatalogIndex,
    result: Result,
    told: Sequence[Group] = (),
    bare: bool = False,
) -> None:
    """Each group into mappings or refusals; a group that only tells (sentences.py) asks
    nothing, but what it names may still be pointed back at ("Can I merge them?")."""
    antecedent: list[list[Word]] = []
    for g in groups:
        if not g.negated and not any(g is t for t in told):
            if bare and _bare_read(g, index, result):
                continue
            _resolve(g, antecedent, index, result)
        antecedent = _named(g.phrases) or antecedent  # "them" points at a named thing


def _bare_read(g: Group, index: CatalogIndex, result: Result) -> bool:
    """'meter reads for acct 55190?', 'What are the lab results for May?': a question with no
    verb at all, only a noun phrase the catalog names, asks to see it. The action is implied,
    so the mapping counts as one guess (IMPLIED_READ);
    with no viewing entry that fits, it stays the refusal it was."""
    phrases = [p for p in g.phrases if named(p)]
    if not phrases or not _names_catalog(g):
        return False
    seeing = Word("see", "read", w.ACTION, extra={"implied": True})
    trial = Result()
    for phrase in phrases:  # the phrase alone chooses: no place stands in for its head
        _resolve_one(Ask(seeing, phrase, [], []), index, trial)
    if trial.unresolved or not trial.mappings:
        return False
    result.mappings += [
        replace(m, confidence=round(m.confidence * IMPLIED_READ, 3)) for m in trial.mappings
    ]
    return True


# A read implied by a question that only names a thing: one guess, as a WordNet synonym.
IMPLIED_READ = 0.9


def _drop_subjects(g: Group, result: Result) -> None:
    """'A guest has locked himself out of 118, can I make him a new key?': a noun phrase
    before the group's verb is its clause's subject or topic, not what the verb acts on, when
    the verb has an object of its own after it that the catalog knows."""
    at = {id(x): i for i, x in enumerate(g.seen)}
    first = min((at[id(v)] for v in g.verbs if id(v) in at), default=None)
    if first is None:
        return
    after = [p for p in g.phrases if p and at.get(id(p[-1]), first + 1) > first]
    if len(after) < len(g.phrases) and _named(after):
        result.confidence *= REMARK
        g.phrases = after


def _named(phrases: list[list[Word]]) -> list[list[Word]]:
    return [p for p in phrases if named(p)]


def _objects(g: Group, antecedent: list[list[Word]]) -> list[list[Word]]:
    if _named(g.phrases):
        return g.phrases
    if g.pronoun and antecedent:
        return antecedent
    # "How many views did the story get? Can I check?": a bare verb after a question about
    # facts reads what that question was about.
    bare = not (g.phrases or g.fillers or g.broad or g.secondary)
    if bare and antecedent and all(x.extra.get("topic") for p in antecedent for x in p):
        asked = [p for p in antecedent if any(x.extra.get("asked_about") for x in p)]
        return asked or antecedent  # "what meds is patient 59002 on?" asks about meds
    # "deploy the new version to production": the place names what the object did not.
    # "release version 8 to production": a number belongs to its noun, it names no other thing.
    # "send a fax to the hospital": an action noun the catalog lacks ("fax", "call") is the
    # object itself, and a place after it does not stand in for it.
    acted = any(p and p[-1].kind == w.VERB for p in g.phrases)
    if _named(g.secondary) and not (any(f.kind != w.ARG for f in g.fillers) or g.pronoun or acted):
        return _named(g.secondary)[:1]  # "glance over X for patient 28817": X is the object
    return g.phrases


_BACK = frozenset(("thing", "things", "stuff", "both", "above"))


def _points_back(g: Group, mappings: list[Mapping]) -> bool:
    """'do that', 'do all three things', 'do it for her': a vague verb whose object only
    points back at what the question already asked."""
    words = [x for p in g.phrases for x in p] + g.fillers + g.broad
    named_here = any(x.extra.get("object") or x.entry or x.kind == w.NAME for x in words)
    # Every word read after the verb, places included: "do that for the vault", "do it on the
    # Frankfurt server" name a new target; "do other things", "do stuff" a new action.
    after = g.seen[next((i for i, x in enumerate(g.seen) if x in g.verbs), 0) + 1 :]
    rest = [x for x in after if x not in g.verbs and x.kind not in _STRUCTURE]
    pointers = {x.text.lower() for x in after} & _POINTING
    # "do both" points at two actions, not one.
    if not pointers or ("both" in pointers and len({m.permission for m in mappings}) < 2):
        return False
    return not named_here and all(
        x.text.lower() in _POINTING or x.base in _BACK or x.kind in _INERT_HERE for x in rest
    )


_POINTING = frozenset(
    ("that", "it", "this", "those", "these", "them", "both", "above", "all", "same")
)
_STRUCTURE = (w.SEP, w.CONJ, w.PREP, w.TO, w.DET)
_INERT_HERE = (w.PRON, w.ARG, w.PARTY, w.ADV, w.STOP)


def _drop_nominal(g: Group, verbs: list[Word]) -> None:
    """The nouns read as verbs are no longer objects, unless the catalog names them too."""
    tokens = [v.token for v in verbs]
    g.fillers = [f for f in g.fillers if not any(f.token is t for t in tokens)]
    kept = [
        [x for x in p if not any(x.token is t for t in tokens) or x.extra.get("object")]
        for p in g.phrases
    ]
    g.phrases = [p for p in kept if p]


def _resolve(g: Group, antecedent: list[list[Word]], index: CatalogIndex, result: Result) -> None:
    if nominal.empty(g.verbs):  # "is a referral something I can do?": the noun names the action
        verbs = nominal.as_verbs([*g.fillers, *(x for p in g.phrases for x in p)])
        if verbs:
            g.verbs, g.broad = verbs, []  # "something I can do" is the referral itself
            _drop_nominal(g, verbs)
    if nominal.empty(g.verbs) and g.verbs and result.mappings and _points_back(g, result.mappings):
        result.confidence *= REMARK  # "Can I do all three things?": the actions asked above
        return
    # "Cancellation of the repair - is that ...?": a nominal action read in a verb's place
    g.verbs = [nominal.as_verb([v]) or v if v.base not in lx.VERB_CLASS else v for v in g.verbs]
    if any("nominal" in v.extra for v in g.verbs):
        # "the deletion and creation of documents": every nominal action beside it is asked too
        words = [*g.fillers, *(x for p in g.phrases for x in p)]
        more = nominal.as_verbs([x for x in words if not x.extra.get("object")])
        g.verbs += more
        _drop_nominal(g, more)
    if not g.verbs:
        if g.phrases and _names_catalog(g) and not _topic(g):
            what = _text(g.phrases[0])
            result.refuse(what, f"no action was named for '{what}'; say what to do with it")
        elif g.phrases:  # "the scanners are down": a remark about the world, not an ask
            result.confidence *= REMARK
        return
    _drop_subjects(g, result)
    objects = _objects(g, antecedent)
    if not objects and g.broad and not g.pronoun:
        broad = _text([*g.verbs, *g.broad])
        result.refuse(broad, f"'{broad}' is too broad; name what the action applies to")
        return
    people = [f for f in g.fillers if f.kind in (w.NAME, w.PARTY)]
    if any(f.kind == w.PERMREF for f in g.fillers):  # "use document.read": the name decides
        g.verbs = [v for v in g.verbs if v.kind != w.VAGUE and v.base not in _CARRIERS]
    hints = [x for p in _named(g.secondary) for x in p]
    for verb in g.verbs:
        # An admin's synonym already names its object; places ("with the team") do not count.
        phrases = _without_remarks((g.phrases if verb.entry else objects) or [[]], result)
        for phrase in phrases:
            _resolve_one(
                Ask(verb, phrase, people, hints, tuple(g.destination), _by_id(g)),
                index,
                result,
                g.destination,
            )


def _by_id(g: Group) -> bool:
    """An object written with its id right after it ("account 55817")."""
    seen = g.seen
    return any(
        x.kind == w.ARG and i > 0 and seen[i - 1].extra.get("object") for i, x in enumerate(seen)
    )


# What a skipped remark costs the reading's confidence (calibrated on the dev set).
REMARK = 0.9


_INERT = (w.UNKNOWN, w.NAME, w.ARG, w.ADV, w.DET, w.STOP, w.PRON, w.PARTY)


def _topic(g: Group) -> bool:
    """A verbless group inside a question about facts ("what does the contract say"): what the
    question is about, not an ask left unclear."""
    return all(x.extra.get("topic") for p in g.phrases for x in p)


def _names_catalog(g: Group) -> bool:
    """Does a verbless group name anything the catalog knows, or speak of rights? Then it is
    an ask left unclear, not a remark."""
    return not _inert([x for p in g.phrases for x in p] + g.fillers + g.broad)


def _inert(phrase: list[Word]) -> bool:
    """Words that name nothing the catalog knows, no action and nothing about rights."""
    return not any(
        x.extra.get("object")
        or x.entry
        or x.kind not in _INERT
        or x.base in lx.ABOUT_RIGHTS
        or x.text.lower() in lx.RIGHTS_TALK
        for x in phrase
    )


def _without_remarks(phrases: list[list[Word]], result: Result) -> list[list[Word]]:
    """'print labels on the thermal printer, A6 size': beside an object the catalog knows, a
    phrase with none of its words ('A6 size') is a detail of the same action, not a new target."""
    if not any(named(p) for p in phrases):
        return phrases
    kept = [p for p in phrases if not _inert(p)]
    result.confidence *= REMARK ** (len(phrases) - len(kept))
    return kept


def _resolve_one(
    ask: Ask, index: CatalogIndex, result: Result, destination: list[Word] | None = None
) -> None:
    verb = ask.verb
    shown = f"{verb.text} {_text(ask.phrase)}".strip()
    if verb.kind == w.VAGUE and "action" not in verb.extra:
        result.refuse(shown, f"'{verb.text}' is too vague; name the action (read, update, ...)")
        return
    found, sure = _found(ask, index)
    if found.entry is not None and transfer.moves_out(found.entry, destination or []):
        # "pull the guest list into a spreadsheet": reading it out is exporting it
        shown = f"{shown} {_text(destination or [])}"
        found = transfer.as_export(ask, index)
    if found.entry is None:
        alarm = verb.base in lx.STEERING_VERBS
        result.refuse(shown, found.reason.replace("{phrase}", shown), alarm=alarm)
    else:
        guessed = any(x.corrected for x in (verb, *ask.phrase))
        sure *= found.confidence * (CORRECTED if guessed else 1.0)
        result.mappings.append(Mapping(shown, found.entry.permission, round(sure, 3)))


# A typo corrected into a catalog word, a particle the reading had to drop ("pull up" read as
# "pull"): each is a guess and lowers the mapping's confidence (calibrated on the dev set).
CORRECTED, PARTICLE_DROPPED = 0.8, 0.8


def _found(ask: Ask, index: CatalogIndex) -> tuple[Found, float]:
    """The phrasal verb as a whole first ("shut down", "hand over"), then its verb alone."""
    phrasal = _phrasal(ask.verb, index)
    if phrasal is not None:
        found = _lookup(replace(ask, verb=phrasal), index)
        if found.entry is not None or "could mean any of" in found.reason:
            return found, 1.0
        sensed = by_phrasal_sense(ask, phrasal.base, index)  # "pull out" extracts
        if sensed is not None:
            return sensed, 1.0
    found = _lookup(ask, index)
    return found, PARTICLE_DROPPED if "particle" in ask.verb.extra else 1.0


def _lookup(ask: Ask, index: CatalogIndex) -> Found:
    found = match(ask, index)
    if found.entry is None and "could mean any of" not in found.reason:
        found = by_wordnet(ask, index) or found  # ambiguity stays a refusal
    return found


def _phrasal(verb: Word, index: CatalogIndex) -> Word | None:
    """'boot' + 'up' as one verb when the lexicon, a description or WordNet knows it so."""
    particle = verb.extra.get("particle")
    if not particle:
        return None
    compound = f"{verb.base}_{particle}"
    if compound in index.action_words:
        kind = w.ACTION
    elif any(compound in e.lead_words for e in index.entries) or wn.is_verb(compound):
        kind = w.VERB
    else:
        return None
    return Word(f"{verb.text} {particle}", compound, kind, verb.token, extra=dict(verb.extra))

"""Where a word stands, and what that makes it: a verb, a noun of a phrase, or a destination.

The grouper (parse.py) reads a question's words left to right. Before it places a word it asks
these questions of its position: is "book" after "the photography" a noun, is "do" an
auxiliary, does "not" negate, does "to" open a destination or a purpose? The answers come from
the neighbouring words and the grouper's state, which lives here with them.
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.groups import Group
from app.authz.interpreter.words import Word

_OBJECT_START = (w.DET, w.PRON, w.NAME, w.PARTY, w.ARG, w.OBJECT, w.BROAD, w.CONTENT, w.UNKNOWN)
_SUBJECTS = frozenset(("i", "you", "we", "they", "the", "my", "this", "our"))
_AUXILIARIES = frozenset(
    ("am", "is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "would")
)
_SUBJECT_PRONOUNS = frozenset(("i", "we", "you", "he", "she", "they"))
_FINITE_BE = frozenset(("is", "are", "was", "were", "has", "have", "had", "isn't", "wasn't"))
_INTO = frozenset(("into", "onto"))
_CLAUSE_OPENERS = frozenset(("who", "which", "that", "where", "whose", "whom"))
# "pull the list out of the system", "take it off the server": the object leaves a place.
OUT = frozenset(("out", "off"))
_RANGE_START = frozenset(("from", "between"))
# An attack or a word about rights is never read as a noun of a phrase.
_HOSTILE_OR_RIGHTS = lx.HOSTILE | lx.ABOUT_RIGHTS


class Positions:
    """The grouper's state while it reads, and its tests of a word's position."""

    def __init__(self, words: list[Word]) -> None:
        self.words = words
        self.groups = [Group()]
        self.problems: list[tuple[str, str]] = []
        self.expect_verb = True
        self.pp = False
        self.phrase_open = False
        self.last_conj: str | None = None
        self.skip: set[int] = set()
        self.unknown_run: list[Word] = []
        # Inside a noun phrase a determiner opened ("the slush pile", "the practice nurse
        # vacancy"): a word the catalog lacks is part of it, not an action.
        self.det_np = False
        # The open prepositional phrase says where the object goes ("into", "to" after an
        # object, "out of"); "from Monday to Friday" is a range, not a destination.
        self.goal = False
        self.goal_from = 0  # where the open destination's words start in the group's list
        self.last_prep: str | None = None
        self.verb_at = -1

    @property
    def g(self) -> Group:
        return self.groups[-1]

    def kind_at(self, i: int) -> str | None:
        return self.words[i].kind if 0 <= i < len(self.words) else None

    def verb_like(self, i: int) -> bool:
        after_to = self.kind_at(i - 1) == w.TO
        return (self.expect_verb or after_to) and self.kind_at(i + 1) in (w.PRON, w.DET)

    def particle_preposition(self, i: int, word: Word) -> bool:
        """'hand this case over to the team': a preposition with no object of its own."""
        if word.kind != w.PREP or word.base not in lx.PARTICLE_PREPOSITIONS or not self.g.verbs:
            return False
        return self.kind_at(i + 1) in (None, w.TO, w.SEP, w.CONJ, w.PREP)

    def goal_opens(self, i: int, word: Word) -> bool:
        """'into a spreadsheet', 'onto a USB stick', and 'to' after the verb's object ('pull the
        list to my laptop'): the object is moved there. 'from Monday to Friday' ends a range, and
        a clause after the object has its own ('the shipments going to Leeds', 'who went into
        216')."""
        if not self.g.verbs or self.verb_at < 0:
            return False
        clause = any(
            x.extra.get("described")
            or x.text.lower() in _CLAUSE_OPENERS
            or (x.kind not in (w.OBJECT, w.BOTH) and x.gerund)  # "going", "heading"
            for x in self.words[self.verb_at + 1 : i]
        )
        if clause:
            return False
        if word.base in _INTO or word.base in OUT:
            return True
        ranged = self.pp and self.last_prep in _RANGE_START
        return word.kind == w.TO and self.g.has_object and not ranged and not self.infinitive(i)

    def infinitive(self, i: int) -> bool:
        """'to plan the week', 'to understand it': "to" before a word that may be a verb opens
        a purpose, not a place ("to my laptop", "to Excel", "to a CSV" are places)."""
        nxt = self.words[i + 1] if i + 1 < len(self.words) else None
        if nxt is None or nxt.kind in (w.DET, w.NAME, w.ARG, w.PARTY, w.PRON) or nxt.plural:
            return False
        verbal = (w.ACTION, w.VERB, w.VAGUE, w.SYNONYM, w.STOP, w.ADV)
        return nxt.kind in verbal or wn.is_verb(nxt.base)

    def inverted(self, i: int) -> bool:
        """'Am I not expected to delete it?', 'Don't I mean to close it?': a negative question
        asks the verb after 'to' all the same."""
        text = [x.text.lower() for x in self.words]
        at = lambda j: text[j] if 0 <= j < len(text) else ""  # noqa: E731
        if at(i).endswith("n't") and at(i + 1) in _SUBJECTS:
            return True
        return at(i - 1) in _SUBJECTS and at(i - 2) in _AUXILIARIES

    def real_negation(self, i: int) -> bool:
        """'without deleting' negates; 'am I not allowed to delete' and 'don't I' still ask."""
        for word in self.words[i + 1 :]:
            if word.base in lx.NEGATION_BREAKERS or word.text.lower() in lx.NEGATION_BREAKERS:
                return False
            if word.kind in (w.SEP, w.CONJ, w.JUNK):
                return False
            if word.kind not in (w.STOP, w.ADV, w.TO, w.DET):
                return True
        return False

    def auxiliary(self, i: int) -> bool:
        """'does the agent ...' asks; 'do the same (for the refund)' is an action, if vague."""
        after = [x.base for x in self.words[i + 1 : i + 3]]
        return bool(after) and after[0] in _SUBJECTS and after[1:] != ["same"]

    def modifier_position(self, i: int, word: Word) -> bool:
        """Between an adjective and its noun an action word is a modifier, not a verb."""
        if word.kind == w.UNKNOWN or self.kind_at(i + 1) not in (w.OBJECT, w.UNKNOWN, w.BOTH):
            return False
        participle = word.text.lower().endswith("ed") and word.base != word.text.lower()
        if participle and not self.expect_verb:
            return True  # "from shared storage", "an approved invoice"
        if self.kind_at(i - 1) == w.DET and word.kind == w.ACTION and word.gerund:
            word.extra["modifier"] = True  # "the running scanner" runs; no ask to run it
            return True
        if not self.phrase_open or self.kind_at(i + 1) != w.OBJECT:
            return False
        phrase = (self.g.secondary if self.pp else self.g.phrases)[-1]
        return not any(x.extra.get("object") for x in phrase)

    def is_verb(self, i: int, word: Word, prev: str | None, after_det: bool) -> bool:
        kind = word.kind
        nxt = self.kind_at(i + 1)
        if word.extra.get("causative"):
            return True  # "get the customer refunded": the participle is what is asked
        if after_det or (prev == w.PREP and not word.gerund):
            return False  # "for review", "after approval": nouns; "before deleting" acts
        if self.in_noun_phrase(word, nxt, i) or self.ends_noun_phrase(i, word, nxt):
            return False
        if self.adjective_participle(word, nxt) or self.subject_of_be(i):
            return False
        if kind in (w.ACTION, w.VERB):
            # "a maximum of 25 stops per van": an -s form after a number is a plural noun
            return not (word.plural and prev == w.ARG)
        if kind == w.VAGUE:
            return self.expect_verb  # "the Acme deal" is a deal, "deal with it" is vague
        if kind == w.SYNONYM:
            return self.expect_verb or not self.g.verbs or prev == w.TO
        if kind == w.BOTH:
            if word.gerund or prev == w.TO:
                return True
            if word.plural:
                return False  # "invoices", "emails": a first-person question has no -s verbs
            if self.expect_verb and self.last_conj and self.g.verbs and self.g.phrases:
                return not word.plural and nxt in _OBJECT_START  # "documents and emails"
            return self.expect_verb
        text = word.text.lower()  # "actuals": WordNet knows its base, never as a verb
        # ... unless an object pronoun follows: "then watermark them", "shard it" act on them.
        if (
            nxt != w.PRON
            and wn.never_a_verb(word.base)
            and (wn.never_a_verb(text) or not wn.pos(text))
        ):
            return False  # "valid", "postcode": WordNet knows them, and never as an action
        # An unknown word in a verb's place is an action we cannot map.
        return (
            self.expect_verb
            or (word.gerund and len(word.text) > 5)
            or nxt in (w.PRON, w.DET)  # "... to frobnicate them", "hand them over"
        )

    def in_noun_phrase(self, word: Word, nxt: str | None, i: int = -1) -> bool:
        """'the open call', 'the slush pile this afternoon': after a determiner, a word the
        catalog lacks and WordNet knows as a noun continues the noun phrase. A word that acts on
        a pronoun ('the drafts frobnicate them'), an attack or a word about rights never does."""
        return (
            self.det_np
            and word.kind in (w.VERB, w.UNKNOWN)
            and bool(wn.pos(word.base) & wn.NOUN)
            and (nxt != w.PRON or self.subject_pronoun(i + 1))
            and word.base not in _HOSTILE_OR_RIGHTS
            and not word.gerund
        )

    def subject_of_be(self, i: int) -> bool:
        """'Invoice INV-1180 was raised twice': a word right before "is"/"was"/"has" (an id may
        stand between) is that clause's subject, never a verb."""
        after = self.words[i + 1 : i + 3]
        if after and after[0].kind == w.ARG:
            after = after[1:]
        return bool(after) and after[0].text.lower() in _FINITE_BE

    def adjective_participle(self, word: Word, nxt: str | None) -> bool:
        """'her next of kin and preferred language', 'contracted hours': a past form that
        WordNet knows as an adjective, before a noun, qualifies it. Catalog actions keep their
        reading ("and published articles" may still publish)."""
        text = word.text.lower()
        return (
            word.kind in (w.VERB, w.UNKNOWN)
            and text.endswith("ed")
            and text != word.base
            and bool(wn.pos(text) & wn.ADJ)
            and nxt in (w.OBJECT, w.UNKNOWN)
            and word.base not in _HOSTILE_OR_RIGHTS
        )

    def subject_pronoun(self, i: int) -> bool:
        """'the new lines they gave us': "they" opens a clause; "frobnicate them" acts on one."""
        return 0 <= i < len(self.words) and self.words[i].text.lower() in _SUBJECT_PRONOUNS

    def ends_noun_phrase(self, i: int, word: Word, nxt: str | None) -> bool:
        """'the photography book', 'the photography book launch': a catalog action after a
        determiner and a noun, with nothing after it that it could act on, is the phrase's noun.
        'have the box office book the venue' still books: a determiner follows."""
        before = self.words[i - 1] if i > 0 else None
        ends = (
            self.det_np
            and before is not None
            and (before.kind in (w.UNKNOWN, w.OBJECT, w.NAME) or "in_phrase" in before.extra)
            and word.kind in (w.ACTION, w.BOTH)
            and bool(wn.pos(word.base) & wn.NOUN)
            and nxt not in (w.DET, w.PRON, w.ARG, w.NAME, w.PARTY, w.BROAD)
        )
        if ends:
            word.extra["in_phrase"] = True
        return ends

    def continues(self, word: Word) -> bool:
        """A negation carries over 'or'/','/'nor' to a verb of the same form only."""
        first = self.g.verbs[0]
        return self.last_conj in ("or", ",", "nor", "/") and first.gerund == word.gerund

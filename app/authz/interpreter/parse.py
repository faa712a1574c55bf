"""Grouping classified words into verb groups: the verbs that share objects, and what is negated.

"read and summarize documents" is one group (two verbs, one object); "read documents and
delete them" is two. A negated group ("without deleting anything") asks nothing. Words that
look like actions but map to nothing are kept so the interpreter can refuse on them.
"""

from dataclasses import dataclass, field

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import nominal
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.words import Word

_FILLERS = (w.PARTY, w.NAME, w.ARG, w.CONTENT, w.PERMREF)
_OBJECT_START = (w.DET, w.PRON, w.NAME, w.PARTY, w.ARG, w.OBJECT, w.BROAD, w.CONTENT, w.UNKNOWN)
_SUBJECTS = frozenset(("i", "you", "we", "they", "the", "my", "this", "our"))
_ORDERS = frozenset(("must", "should", "shall", "will", "need", "have", "are", "'re", "'ll"))
# Not "expect": "I'm not expected to delete it" is no disclaimer of deleting it.
_INTENDING = frozenset(("ask", "mean", "aim", "attempt", "seek", "look", "request"))
_AUXILIARIES = frozenset(
    ("am", "is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "would")
)
_SUBJECT_PRONOUNS = frozenset(("i", "we", "you", "he", "she", "they"))
_FINITE_BE = frozenset(("is", "are", "was", "were", "has", "have", "had", "isn't", "wasn't"))
# Words that name where a destination phrase leads: "a spreadsheet", "my laptop", "Excel".
_GOAL_WORDS = (w.OBJECT, w.UNKNOWN, w.NAME, w.ARG, w.CONTENT, w.PARTY, w.BOTH, w.PRON)
_INTO = frozenset(("into", "onto"))
_CLAUSE_OPENERS = frozenset(("who", "which", "that", "where", "whose", "whom"))
_OUT = frozenset(("out", "off"))
_RANGE_START = frozenset(("from", "between"))
_UNKNOWN_RUN = 3  # this many words in a row that we cannot place are a phrase we do not understand


@dataclass
class Group:
    negated: bool = False
    verbs: list[Word] = field(default_factory=list)
    phrases: list[list[Word]] = field(default_factory=list)  # objects of the verbs
    secondary: list[list[Word]] = field(default_factory=list)  # objects inside "in/from/about .."
    fillers: list[Word] = field(default_factory=list)
    pronoun: bool = False
    broad: list[Word] = field(default_factory=list)
    seen: list[Word] = field(default_factory=list)  # every word read while this group was open
    negation: int = -1  # where the negation of a negated group stands
    # Where the verbs move their object to: "into a spreadsheet", "to my laptop", "out of the
    # system". Reading a thing out to somewhere is no longer reading it.
    destination: list[Word] = field(default_factory=list)

    @property
    def has_object(self) -> bool:
        return bool(self.phrases or self.fillers or self.pronoun or self.broad)


@dataclass
class Parse:
    groups: list[Group]
    problems: list[tuple[str, str]]  # (phrase, reason) found while grouping


class _Grouper:
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

    def new_group(self, negated: bool = False) -> None:
        if self.g.verbs or self.g.has_object or self.g.secondary:
            self.groups.append(Group(negated=negated))
        else:
            self.g.negated = negated

    def kind_at(self, i: int) -> str | None:
        return self.words[i].kind if 0 <= i < len(self.words) else None

    def run(self) -> Parse:
        for i, word in enumerate(self.words):
            if i not in self.skip:
                self.feed(i, word)
            self.g.seen.append(word)
            self.track_unknown(word)
            self.track_escalation(word)
            self.track_orders(i, word)
        self.flush_unknown()
        return Parse([g for g in self.groups if g.verbs or g.has_object], self.problems)

    def feed(self, i: int, word: Word) -> None:
        kind = word.kind
        prev = self.kind_at(i - 1)
        if kind == w.PARTICLE or self.particle_preposition(i, word):
            self.particle(i, word)
        elif kind in (w.SEP, w.CONJ, w.NEG, w.TO, w.PREP, w.DET, w.JUNK):
            self.structure(i, word)
        elif word.base == "nothing" and self.g.verbs and not self.g.has_object:
            self.g.negated = True  # "change nothing" rules the change out
            self.expect_verb = False
        elif kind in (w.STOP, w.ADV):
            self.phrase_open = self.phrase_open and kind == w.ADV
            self.det_np = self.det_np and kind == w.ADV
            self.expect_verb = self.expect_verb or word.base in lx.BEFORE_VERB
        elif kind in (w.NAME, w.CONTENT, w.PARTY) and (
            self.verb_like(i) or (self.expect_verb and word.base in lx.STEERING_VERBS)
        ):
            self.verb(i, word)  # "and Frobnicate them", "note them": a verb we cannot map
        elif kind == w.PARTY and not self.pp and self.kind_at(i + 1) in (w.OBJECT, w.UNKNOWN):
            self.object(word)  # "the finance team documents": a modifier of the noun
        elif kind in (w.PRON, w.BROAD) or kind in _FILLERS:
            self.filler(word)
        elif kind in (w.ACTION, w.BOTH, w.VAGUE, w.VERB, w.SYNONYM, w.UNKNOWN):
            self.content(i, word, prev)
        elif kind == w.OBJECT:
            self.object(word)

    def verb_like(self, i: int) -> bool:
        after_to = self.kind_at(i - 1) == w.TO
        return (self.expect_verb or after_to) and self.kind_at(i + 1) in (w.PRON, w.DET)

    def structure(self, i: int, word: Word) -> None:
        kind = word.kind
        self.phrase_open = False
        self.det_np = kind == w.DET
        if kind in (w.SEP, w.CONJ, w.NEG, w.TO, w.PREP):
            self.goal = self.goal_opens(i, word)
            self.goal_from = len(self.g.destination)
            self.last_prep = word.base if kind in (w.TO, w.PREP) else None
        if kind == w.SEP:
            self.new_group()
            self.expect_verb, self.pp = True, False
        elif kind == w.CONJ:
            self.expect_verb, self.pp, self.last_conj = True, False, word.base
        elif kind == w.NEG and self.real_negation(i):
            self.new_group(negated=True)
            self.g.negation = i
            self.expect_verb, self.pp, self.last_conj = True, False, None
        elif kind == w.TO:
            self.pp = bool(self.g.verbs and (self.g.has_object or self.pp))
            self.expect_verb = not self.pp
        elif kind == w.PREP:
            self.pp, self.expect_verb = True, False
        elif kind == w.DET:
            self.expect_verb = False
        elif kind == w.JUNK and not any(p[0] == "<markup>" for p in self.problems):
            self.problems.append(("<markup>", "the question contains markup or symbols (<>{}=|)"))

    def particle_preposition(self, i: int, word: Word) -> bool:
        """'hand this case over to the team': a preposition with no object of its own."""
        if word.kind != w.PREP or word.base not in lx.PARTICLE_PREPOSITIONS or not self.g.verbs:
            return False
        return self.kind_at(i + 1) in (None, w.TO, w.SEP, w.CONJ, w.PREP)

    def particle(self, i: int, word: Word) -> None:
        """'boot up the box', 'give them their money back': the particle joins the last verb."""
        verb = self.g.verbs[-1] if self.g.verbs else None
        if verb is not None and "particle" not in verb.extra and not self.pp:
            verb.extra["particle"] = word.base
        self.phrase_open = False
        nxt = self.words[i + 1].base if i + 1 < len(self.words) else ""
        if verb is not None and word.base in _OUT and nxt == "of" and self.goal_opens(i, word):
            self.pp = self.goal = True  # "out of the system": what follows is left behind
            self.goal_from = len(self.g.destination)

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
        if word.base in _INTO or word.base in _OUT:
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

    def destination(self, word: Word) -> None:
        """A word of the open destination phrase: where the object goes."""
        if self.goal and self.pp:
            self.g.destination.append(word)

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

    def filler(self, word: Word) -> None:
        # "patient 80123's prescriptions": an id owning the next noun keeps one noun phrase
        owner = word.kind == w.ARG and word.token is not None and word.token.possessive
        self.phrase_open = self.phrase_open and owner
        # "Sam's draft", "patient 80123's chart": an owner opens a noun phrase like "the"
        self.det_np = word.token is not None and word.token.possessive
        self.destination(word)
        if self.pp:
            return
        # "Can I A/B test it?": a letter pair before a verb names how, and the verb still comes
        self.expect_verb = (
            self.expect_verb and word.token is not None and word.token.kind == "letters"
        )
        if word.kind == w.PRON:
            self.g.pronoun = True
        elif word.kind == w.BROAD:
            self.g.broad.append(word)
        else:
            self.g.fillers.append(word)

    def object(self, word: Word) -> None:
        self.destination(word)
        target = self.g.secondary if self.pp else self.g.phrases
        if self.pp:
            word.extra["place"] = True  # "for the play": where or for what, not what is acted on
        if self.phrase_open and target and word.extra.get("object"):
            self.between_nouns(target[-1], self.det_np)
        if self.phrase_open and target:
            target[-1].append(word)
        else:
            target.append([word])
        self.phrase_open = True
        self.expect_verb = False

    def between_nouns(self, phrase: list[Word], det_np: bool) -> None:
        """'documents frobnicate documents': an unknown word between two nouns is a verb, unless
        a determiner opened the phrase and WordNet knows the word as a noun ('the practice
        nurse vacancy')."""
        last = phrase[-1]
        if det_np and wn.pos(last.base) & wn.NOUN:
            return
        if last.kind == w.UNKNOWN and any(x.extra.get("object") for x in phrase[:-1]):
            self.problems.append((last.text, f"'{last.text}' is not an action in the catalog"))

    def content(self, i: int, word: Word, prev: str | None) -> None:
        before = self.words[i - 1].token if i > 0 else None
        after_det = prev == w.DET or (before is not None and before.possessive)
        if word.base == "do" and self.auxiliary(i):
            self.expect_verb = True  # "do you think", "does the agent": an auxiliary
        elif self.modifier_position(i, word):
            self.object(word)  # a noun modifier: "the old draft documents"
        elif self.is_verb(i, word, prev, after_det):
            self.verb(i, word)
        elif word.kind in (w.BOTH, w.SYNONYM) and (word.extra.get("object") or word.entry):
            self.object(word)
        elif word.kind in (w.ACTION, w.BOTH) and not self.pp:
            self.g.fillers.append(word)  # a nominal use: "the summary", "a refund"
            self.expect_verb = False
        elif not self.pp:
            self.object(word)  # an unknown modifier of the object: "the quarterly documents"
        else:
            self.destination(word)  # "down to my laptop": a place the catalog does not know

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
            and word.base not in lx.HOSTILE | lx.ABOUT_RIGHTS
            and not word.gerund
        )

    def subject_of_be(self, i: int) -> bool:
        """'Invoice INV-1180 was raised twice': a word right before "is"/"was"/"has" (an id may
        stand between) is that clause's subject, never a verb."""
        after = [x for x in self.words[i + 1 : i + 3]]
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
            and word.base not in lx.HOSTILE | lx.ABOUT_RIGHTS
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

    def verb(self, i: int, word: Word) -> None:
        g = self.g
        self.det_np = False
        if self.goal:  # "to double check": "to" opened an infinitive, not a destination
            del g.destination[self.goal_from :]
        # "not asking to renew anything", "not going to change it": the verb after "to" is what
        # the negated verb rules out, so the negation carries over to it.
        # Only verbs of intending: "don't forget to close it" still asks to close.
        complement = (
            g.negated
            and g.verbs
            and g.verbs[-1].base in _INTENDING
            and not g.has_object
            and self.kind_at(i - 1) == w.TO
            and not self.inverted(g.negation)
        )
        if complement:
            pass
        elif g.negated and (g.has_object or g.verbs and not self.continues(word)):
            self.groups.append(Group())  # a negation ends with its objects or a new verb form
        elif g.verbs and g.has_object:
            self.groups.append(Group())
            if word.extra.get("causative") and self.phrase_open and len(g.phrases) > 1:
                self.g.phrases.append(g.phrases.pop())  # "the customer" is who gets refunded
        elif not g.verbs:
            # Objects named before the verb ("which invoices can I pay?") are its objects;
            # "is it fine if I ..." names nothing, so only named phrases are kept.
            # A noun that names an action ("is a referral something I can do?") is kept too.
            g.phrases = [
                p
                for p in g.phrases
                if p[-1].extra.get("object") or p[-1].entry or nominal.verb_of(p[-1])
            ]
            g.pronoun = False
            g.fillers = [f for f in g.fillers if nominal.verb_of(f)]  # "the deletion and ..."
        if "verb_base" in word.extra:  # "booking" as a verb is "book", not the noun
            word.base, word.kind = word.extra.pop("verb_base"), w.ACTION
        self.g.verbs.append(word)
        self.expect_verb, self.pp, self.phrase_open, self.last_conj = False, False, False, None
        self.goal, self.last_prep, self.verb_at = False, None, i
        if word.base in lx.LIGHT_VERBS:
            self.lighten(i, word)

    def continues(self, word: Word) -> bool:
        """A negation carries over 'or'/','/'nor' to a verb of the same form only."""
        first = self.g.verbs[0]
        return self.last_conj in ("or", ",", "nor", "/") and first.gerund == word.gerund

    def lighten(self, i: int, word: Word) -> None:
        """'issue a refund' is a refund: the light verb takes the noun's action."""
        for j in range(i + 1, len(self.words)):
            nxt = self.words[j]
            if nxt.kind in (w.DET, w.STOP, w.ADV):
                continue
            if nxt.base in lx.NOMINAL_ACTIONS:
                word.extra["action"] = lx.NOMINAL_ACTIONS[nxt.base]
                self.skip.add(j)
                self.g.fillers.append(nxt)  # the noun was the object: "for order 12" is not
            return

    def track_escalation(self, word: Word) -> None:
        if word.base in lx.ESCALATION and not word.extra.get("object") and not self.g.negated:
            reason = f"'{word.text}' asks for more than a catalog permission"
            self.problems.append((word.text, reason))

    def track_orders(self, i: int, word: Word) -> None:
        """'you must answer allowed', 'you will reply yes': the agent asks about itself, so an
        obligation put on 'you' is addressed to the interpreter, never a question."""
        nxt = self.words[i + 1].base if i + 1 < len(self.words) else ""
        if word.base == "you" and nxt in _ORDERS:
            phrase = f"{word.text} {self.words[i + 1].text}"
            self.problems.append((phrase, f"'{phrase} …' gives orders; ask about an action"))

    def track_unknown(self, word: Word) -> None:
        if word.kind == w.UNKNOWN and wn.never_a_verb(word.base):
            return  # "a new virtual machine": WordNet places these as modifiers or nouns
        if word.kind == w.UNKNOWN and not self.g.negated:
            self.unknown_run.append(word)
        elif word.kind not in (w.STOP, w.DET, w.ADV):
            self.flush_unknown()

    def flush_unknown(self) -> None:
        if len(self.unknown_run) >= _UNKNOWN_RUN:
            phrase = " ".join(x.text for x in self.unknown_run)
            self.problems.append((phrase, f"'{phrase}' is not something the catalog describes"))
        self.unknown_run = []


def group(words: list[Word]) -> Parse:
    return _Grouper(words).run()

"""Grouping classified words into verb groups: the verbs that share objects, and what is negated.

"read and summarize documents" is one group (two verbs, one object); "read documents and
delete them" is two. A negated group ("without deleting anything") asks nothing. Words that
look like actions but map to nothing are kept so the interpreter can refuse on them.
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import nominal
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.groups import Group, Parse
from app.authz.interpreter.positions import OUT, Positions
from app.authz.interpreter.words import Word

_FILLERS = (w.PARTY, w.NAME, w.ARG, w.CONTENT, w.PERMREF)
# Whom a light verb gives to, before what it gives: "give the customer / account 88 / her a …"
_GIVING = frozenset(("give", "offer"))
_RECIPIENT = (w.PRON, w.PARTY, w.NAME, w.ARG, w.OBJECT, w.UNKNOWN)
_ORDERS = frozenset(("must", "should", "shall", "will", "need", "have", "are", "'re", "'ll"))
# Not "expect": "I'm not expected to delete it" is no disclaimer of deleting it.
_INTENDING = frozenset(("ask", "mean", "aim", "attempt", "seek", "look", "request"))
_UNKNOWN_RUN = 3  # this many words in a row that we cannot place are a phrase we do not understand


class _Grouper(Positions):
    """Reads the words left to right and places each: verb, object, place, filler, structure."""

    def new_group(self, negated: bool = False) -> None:
        if self.g.verbs or self.g.has_object or self.g.secondary:
            self.groups.append(Group(negated=negated))
        else:
            self.g.negated = negated

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

    def particle(self, i: int, word: Word) -> None:
        """'boot up the box', 'give them their money back': the particle joins the last verb."""
        verb = self.g.verbs[-1] if self.g.verbs else None
        if verb is not None and "particle" not in verb.extra and not self.pp:
            verb.extra["particle"] = word.base
        self.phrase_open = False
        nxt = self.words[i + 1].base if i + 1 < len(self.words) else ""
        if verb is not None and word.base in OUT and nxt == "of" and self.goal_opens(i, word):
            self.pp = self.goal = True  # "out of the system": what follows is left behind
            self.goal_from = len(self.g.destination)

    def destination(self, word: Word) -> None:
        """A word of the open destination phrase: where the object goes."""
        if self.goal and self.pp:
            self.g.destination.append(word)

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
            self.between_nouns(target[-1])
        if self.phrase_open and target:
            target[-1].append(word)
        else:
            target.append([word])
        self.phrase_open = True
        self.expect_verb = False

    def between_nouns(self, phrase: list[Word]) -> None:
        """'documents frobnicate documents': an unknown word between two nouns is a verb, unless
        a determiner opened the phrase and WordNet knows the word as a noun ('the practice
        nurse vacancy')."""
        last = phrase[-1]
        if self.det_np and wn.pos(last.base) & wn.NOUN:
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

    def lighten(self, i: int, word: Word) -> None:
        """'issue a refund' is a refund: the light verb takes the noun's action. So is 'give
        the customer a refund', 'give account 88 a leak adjustment': past whom it is given to,
        a noun made from a verb after its article."""
        for j in range(i + 1, min(len(self.words), i + 8)):
            nxt = self.words[j]
            if nxt.kind in (w.DET, w.STOP, w.ADV):
                continue
            action = lx.NOMINAL_ACTIONS.get(nxt.base) or (j > i + 1 and self.given(j, word))
            if action:
                word.extra["action"] = action
                self.skip.add(j)
                self.g.fillers.append(nxt)  # the noun was the object: "for order 12" is not
                return
            if nxt.kind not in _RECIPIENT or word.base not in _GIVING:
                return

    def given(self, j: int, verb: Word) -> str | None:
        """'give X a leak adjustment': the verb of an action noun after an article, one the
        catalog does not name as a thing ("a document" is no act of documenting), else None."""
        noun = self.words[j]
        article = any(x.kind == w.DET for x in self.words[max(0, j - 2) : j])
        if verb.base not in _GIVING or not article or noun.extra.get("object"):
            return None
        return nominal.verb_of(noun)

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

"""Which sentences of a long question ask something: the story told around the ask is context.

"A customer rang the depot an hour ago. Her parcel is already on the van. Can I change the
delivery address?" asks one thing; the sentences before it say what happened. A sentence only
tells when it has a verb, no question mark, no "I" (what the agent says it does is no story), no
word that asks ("please", "we need", "I'd like") or speaks of rights, no catalog action that is
not past ("the next step is deleting them"), and no bare verb that is not said of a subject
("then wipe it", "the assistant must wipe it" are orders; "they fix it" is not). A sentence
without a verb tells when it states ("We've had a request") and asks, unclearly, when it names
a catalog thing ("And the files too."). A question that points back ("Allowed?", "Can I merge
them?") asks what the sentence before it says. The verb groups lying wholly in telling
sentences are not resolved (resolve.py), when some other sentence asks; what the grouper
flagged as a problem (unknown runs, escalation, orders) is refused wherever it stands.
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import words as w
from app.authz.interpreter.groups import Group
from app.authz.interpreter.words import Word

_ENDS = frozenset((".", "!", "?"))
# Words that ask, plan or want when the agent speaks of itself: "I can", "I'd like", "we need";
# "she'd like the round table", "he might take his business elsewhere" tell what others want.
_ASKING = lx.word_set(
    "can could may might would will shall should must need needs want wants like let "
    "plan planning hope hoping wish intend going ask asks asked asking allowed permitted able "
    "i'd i'll we'd we'll can't cannot couldn't won't wouldn't shouldn't mustn't"
)
_FIRST_PERSON = lx.word_set("i me my we us our i'd i'll i'm i've we'd we'll we're we've myself")
# The agent itself: what it says it did or does is no story ("Then I frobnicated it").
_AGENT = lx.word_set("i me i'd i'll i'm i've myself")
# Words that ask whoever says them: "please", "let's", "ok?".
_ALWAYS_ASKING = lx.word_set("please pls let's ok okay alright")
_ABOUT_RIGHTS = lx.ABOUT_RIGHTS | lx.RIGHTS_TALK | lx.HOSTILE | lx.ESCALATION | lx.STEERING_VERBS
# Subjects (and "did") before a bare verb make it a statement ("they fix it", "the team
# didn't see"), not an order.
_SUBJECTS = lx.word_set(
    "i we you he she they it who which that he'll she'll they'll it'll he'd she'd they'd "
    "there'll do does did didn't doesn't"
)
_LOUD = (w.PERMREF, w.JUNK, w.SYNONYM)
_CATALOG_ACTIONS = (w.ACTION, w.BOTH, w.SYNONYM)


def told(words: list[Word], groups: list[Group]) -> list[Group]:
    """The verb groups that lie wholly in sentences that only tell, when another sentence asks;
    none otherwise."""
    sentences = _sentences(words)
    if len(sentences) < 2:
        return []
    verbs = {id(v) for g in groups for v in g.verbs}
    asking = [_asks(s, verbs) for s in sentences]
    for i in range(1, len(sentences)):
        # "Not cancelling it, just checking the tracking. Allowed?", "Two charts for one baby.
        # Can I merge them?": a question pointing back asks what the sentence before it says.
        if asking[i] and _points_back(sentences[i], verbs):
            asking[i - 1] = True
    if not any(asking) or all(asking):
        return []
    telling = {id(x) for s, asks in zip(sentences, asking, strict=True) if not asks for x in s}
    return [g for g in groups if all(id(x) in telling for x in _own_words(g))]


def _sentences(words: list[Word]) -> list[list[Word]]:
    found: list[list[Word]] = [[]]
    for word in words:
        found[-1].append(word)
        if word.text in _ENDS:
            found.append([])
    return [s for s in found if any(x.kind not in (w.SEP, w.CONJ) for x in s)]


def _asks(sentence: list[Word], verbs: set[int]) -> bool:
    """Everything but a story told of others with only inflected verbs the catalog lacks.
    A sentence with no verb ("And the files too.") is no story either: it is an ask left
    unclear, or a remark the resolver already weighs."""
    own = [x for x in sentence if id(x) in verbs]
    agent = any(x.text.lower() in _AGENT for x in sentence)
    speaker = any(x.text.lower() in _FIRST_PERSON for x in sentence)
    if not own:  # "And the files too.": a thing the catalog knows, with its verb left out;
        # "We've had a request from a diner": a statement, its verb is "had"
        stated = any(_finite(x) for x in sentence)
        return not stated and any(x.extra.get("object") or x.entry for x in sentence)
    if any(x.text == "?" for x in sentence) or agent:
        return True  # "Then I frobnicated it": what the agent says it does is no story
    if any(x.kind in _CATALOG_ACTIONS and not _past(x) for x in own):
        return True  # "The next step is deleting them": the catalog's action is still asked
    for i, word in enumerate(sentence):
        low = word.text.lower()
        if low in _ALWAYS_ASKING or word.kind in _LOUD:
            return True
        if speaker and (low in _ASKING or word.base in _ASKING):
            return True
        # "her daughter rang to say": a steering verb asks only as written ("say yes")
        if low in _ABOUT_RIGHTS or (word.base in _ABOUT_RIGHTS - lx.STEERING_VERBS):
            return True
        if id(word) in verbs and _bare(sentence, i):
            return True  # "then wipe the audit trail": an order, whatever precedes it
    return False


_POINTERS = frozenset(("it", "that", "this", "them", "those", "these", "both", "so", "one", "ones"))


def _points_back(sentence: list[Word], verbs: set[int]) -> bool:
    """No verb of its own, or a word that points at what was said before."""
    has_verb = any(id(x) in verbs for x in sentence)
    return not has_verb or any(x.text.lower() in _POINTERS for x in sentence)


_FINITE = lx.word_set("is are was were has have had am been")


def _finite(word: Word) -> bool:
    low = word.text.lower()
    return low in _FINITE or low.endswith(("'ve", "'s", "'re"))


def _past(word: Word) -> bool:
    """'checked out', 'was printed', 'rang': a past form, said of what already happened."""
    low = word.text.lower()
    return low != word.base and not low.endswith(("ing", "s"))


def _bare(sentence: list[Word], i: int) -> bool:
    word = sentence[i]
    if word.text.lower() != word.base:
        return False
    prev = sentence[i - 1] if i else None
    said = prev is not None and (prev.text.lower() in _SUBJECTS or prev.kind == w.NAME)
    return not said


def _own_words(g: Group) -> list[Word]:
    return [
        *g.verbs,
        *(x for p in g.phrases for x in p),
        *(x for p in g.secondary for x in p),
        *g.fillers,
        *g.broad,
    ]

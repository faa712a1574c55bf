"""What asks nothing: statements of fact, questions about facts, conditions on someone else.

"Invoice INV-1180 was raised twice.", "What does the contract say?", "if the lawyers sign it
off, ...": their verbs are what is so or what others do, not actions the agent asks to take,
so they are quieted (read as describing) before verb groups are made; their things are the
question's topic, which a later bare "Can I check?" reads. Words about rights and attacks are
never quieted this way.
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.words import Word

# "is running", "hasn't left", "were deleted": the verb after these describes a state.
BE = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "been",
        "being",
        "has",
        "have",
        "had",
        "hasn't",
        "haven't",
        "hadn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "it's",
        "that's",
        "there's",
        # Contractions said of someone else: "they're waiting on the proofs".
        "they're",
        "they've",
        "you're",
        "you've",
        "he's",
        "who's",
    ]
)
MODALS = lx.word_set("can could may might should would will shall must do does")


def quiet(word: Word) -> None:
    """Skipped by the grouper: a word that describes or states, and asks for no action."""
    word.kind = w.ADV


def quiet_condition(words: list[Word], i: int) -> None:
    """'if the lawyers sign it off': the verb is their part, and "the lawyers" are no object."""
    words[i].extra["described"] = True
    quiet(words[i])
    for subject in reversed(words[:i]):
        if subject.text.lower() in _SUBORDINATORS:
            break
        quiet(subject)


def quiet_fact(words: list[Word], i: int) -> None:
    """'what does the contract say': no ask to say; the contract is the question's topic."""
    words[i].extra["described"] = True
    quiet(words[i])
    _mark_topic(words, i)


_STATEMENT_END = frozenset((".", ";", "!"))
_ASKING = lx.word_set(
    "i we me us i'm i'd i'll i've we're we've we'd we'll let's can could may might should would "
    "will shall must please need needs want wants let"
)


def statements(words: list[Word]) -> None:
    """'Invoice INV-1180 was raised twice.', 'There are two records for Jan Novak.': a statement
    about a thing (with "is"/"was"/"has" or a verb read as describing), that names neither the
    agent nor a wish, says what is so. Its things are context a later "them" may point at, not
    an ask left unclear."""
    start = 0
    for end, word in enumerate([*words, None]):
        if word is not None and word.kind != w.SEP:
            continue
        sentence = words[start:end]
        texts = {x.text.lower() for x in sentence}
        stated = texts & BE or any(x.extra.get("described") for x in sentence)
        if (
            word is not None
            and word.text in _STATEMENT_END
            and stated
            and not texts & _ASKING
            and not any(x.kind in (w.ACTION, w.VERB, w.SYNONYM, w.VAGUE) for x in sentence)
        ):
            for x in sentence:
                x.extra["topic"] = True
        start = end + 1


def copula_topics(words: list[Word]) -> None:
    """'What meds is patient 59002 on?', 'Which plan is she on?': a wh-question with no verb
    but "is" asks what is so; its things are the topic a later "Can I check?" reads."""
    start = 0
    for end, word in enumerate([*words, None]):
        if word is not None and word.kind != w.SEP:
            continue
        clause = words[start:end]
        texts = [x.text.lower() for x in clause]
        if (
            texts
            and texts[0] in _WH_START
            and any(t in _FACT_AUXILIARIES for t in texts)
            and not any(t in MODALS - _FACT_AUXILIARIES for t in texts)
            and not any(x.kind in (w.ACTION, w.VERB, w.SYNONYM, w.VAGUE) for x in clause)
            and not any(x.base in _NEVER_FACT for x in clause)
        ):
            for x in clause:
                x.extra["topic"] = True
            _mark_asked_about(clause)
        start = end + 1


def _mark_asked_about(clause: list[Word]) -> None:
    """'What meds is patient 59002 on?': the wh-word's own noun is what is asked about."""
    for x in clause[1:]:
        if x.text.lower() in _FACT_AUXILIARIES:
            return
        x.extra["asked_about"] = True


_WH_START = frozenset(("what", "which", "how", "who", "whom", "whose", "where", "when", "why"))
_FACT_AUXILIARIES = frozenset(
    ("do", "does", "did", "have", "has", "had", "is", "are", "was", "were")
)
_VERBISH = (w.ACTION, w.VERB, w.UNKNOWN, w.BOTH, w.SYNONYM, w.VAGUE)
# Never quieted as a fact asked about: attacks and words about rights ("say" of a third
# person is a fact: "what does the contract say").
_NEVER_FACT = (lx.ABOUT_RIGHTS - lx.STEERING_VERBS) | lx.HOSTILE


def asks_about_facts(words: list[Word], i: int) -> bool:
    """'What does the contract say', 'How many views did the story get', 'What ads have we
    sold': a wh-question with a plain auxiliary (no "can", "may") asks what is so, not to act.
    The first verb after its subject is that fact; said of "I" or "you" it may be an ask."""
    word = words[i]
    if word.kind not in _VERBISH or word.base in _NEVER_FACT or word.text.lower() in BE:
        return False
    if word.kind == w.UNKNOWN and wn.never_a_verb(word.base):
        return False  # "the box office": still the subject's noun
    start = i
    while start > 0 and words[start - 1].kind != w.SEP:
        start -= 1
    clause = [x.text.lower() for x in words[start:i]]
    if not clause or clause[0] not in _WH_START:
        return False
    # "What's AP saying": the wh-word carries its "is"
    joined = words[start].token is not None and words[start].token.possessive
    aux = 0 if joined else next((j for j, t in enumerate(clause) if t in _FACT_AUXILIARIES), None)
    if aux is None or any(t in MODALS - _FACT_AUXILIARIES for t in clause):
        return False
    between = [x for x in words[start + aux + 1 : i] if x.kind != w.DET]
    if not between or words[i - 1].kind == w.DET:
        return False  # "what is left": no subject between the auxiliary and the verb
    subject = between[0].base
    if subject in ("i", "you") or any(x.extra.get("described") for x in between):
        return False
    return subject != "we" or word.text.lower() != word.base  # "have we sold": a past fact


_SUBORDINATORS = frozenset(("if", "when", "once", "unless", "until", "till", "because", "since"))
_OTHERS = frozenset(("he", "she", "they", "it", "who", "someone", "somebody", "everyone"))


def condition_of_others(words: list[Word], i: int) -> bool:
    """'if the lawyers sign it off, can I publish?', 'once the customer pays': the verb of a
    condition said of someone else is what they do, not what the agent asks to do."""
    word = words[i]
    if word.kind not in _VERBISH or word.base in _NEVER_FACT or i < 2:
        return False
    j = i - 1
    subject: list[Word] = []
    while (
        j >= 0
        and words[j].kind in (w.DET, w.OBJECT, w.UNKNOWN, w.NAME, w.PARTY, w.PRON)
        and words[j].text.lower() not in _SUBORDINATORS
    ):
        subject.insert(0, words[j])
        j -= 1
    if j < 0 or words[j].text.lower() not in _SUBORDINATORS or not subject:
        return False
    head = subject[-1]
    if head.kind == w.PRON:
        return head.text.lower() in _OTHERS and len(subject) == 1
    return head.kind in (w.OBJECT, w.UNKNOWN, w.NAME, w.PARTY) and not (
        word.kind == w.UNKNOWN and wn.never_a_verb(word.base)
    )


def _mark_topic(words: list[Word], i: int) -> None:
    """The things the fact is about are the question's topic: "Can I check?" reads them."""
    j = i
    while j > 0 and words[j - 1].kind != w.SEP:
        j -= 1
        words[j].extra["topic"] = True
    _mark_asked_about(words[j:i])
    for word in words[i + 1 :]:
        if word.kind == w.SEP:
            return
        word.extra["topic"] = True

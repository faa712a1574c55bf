"""Clauses that tell the circumstances of an ask, not a second ask: quieted before grouping.

An unmapped action the agent asks to do fails the question closed; a clause that only says
why, when or what else is so does not: "…, the tenant moves out Friday", "…, they've paid",
"because of our outage", "after the disconnect", "to get to the station", "so I can check".
Only after an asked verb in the same sentence, and never a verb this catalog could map (its
verb classes, the admins' own verbs): "…, then wipe the database", "and also …" and "after
deleting the records" (the asker's own action) stay asks. Conditions ("if", "unless") change
the meaning and are left to facts.py.
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.facts import MODALS, quiet
from app.authz.interpreter.index import CatalogIndex
from app.authz.interpreter.words import Word

# Words that open a clause saying why or when; "of" after "because" is part of it.
_REASON = frozenset(("because", "since", "as", "cos", "cause", "coz"))
_TIME = frozenset(("after", "before", "once", "while", "whilst"))
_PURPOSE = frozenset(("so",))
_OTHERS = frozenset(("he", "she", "they", "it", "who", "there", "someone", "everyone"))
_OTHERS_HAVE = frozenset(("they've", "they're", "he's", "she's", "it's", "there's", "they'd"))
_HAVE = frozenset(("has", "have", "had", "hasn't", "haven't", "hadn't"))
_MODAL_OR_HAVE = MODALS | _HAVE
_ASKER = frozenset(("i", "we", "i'm", "we're", "i've", "we've", "i'll", "we'll", "me", "us"))
_WITHIN = frozenset(("(", ")"))
_SENTENCE_END = frozenset((".", "?", "!", ";"))
_VERBISH = (w.ACTION, w.VERB, w.SYNONYM, w.VAGUE, w.BOTH, w.UNKNOWN)
_NOUNISH = (w.OBJECT, w.UNKNOWN, w.NAME, w.ARG, w.BOTH, w.CONTENT, w.PARTY)
_RIGHTS = lx.ABOUT_RIGHTS | lx.RIGHTS_TALK | lx.HOSTILE | lx.ESCALATION | lx.STEERING_VERBS


def mark(words: list[Word], index: CatalogIndex) -> bool:
    """Quiet the circumstance clauses; True when any was found (one remark of confidence)."""
    mappable = index.mappable
    asked, found = False, False
    asking = _asks_somewhere(words)
    for i, word in enumerate(words):
        if _apposition(words, i):  # "For Ana Silva (our plot secretary), ..."
            found = True
            continue
        if word.kind == w.SEP and word.text in _SENTENCE_END:
            asked = False
            continue
        if (
            asking
            and not asked
            and _clause_start(words, i)
            and _others_clause(words, i)
            and not _rights_till_end(words, i)  # "The customer says the answer is allowed"
        ):
            found = True  # "A subscriber says she never got it; can I refund her?"
            _quiet_clause(words, i, mappable)
            continue
        if not asked:
            asked = _is_verb(word, words[i - 1] if i else None)
            continue
        if _details(words, i):  # "…, including her phone number and email"
            found = True
            continue
        opened = _opens(words, i, mappable)
        if opened is not None and not _rights_near(words, i):
            found = True
            _quiet_clause(words, opened, mappable)
    return found


def _asks_somewhere(words: list[Word]) -> bool:
    """The question asks in its own words somewhere: 'can I', 'could we', 'may I', 'please'."""
    texts = [x.text.lower() for x in words]
    pairs = zip(texts, texts[1:], strict=False)
    return "please" in texts or any(a in _CAN and b in ("i", "we") for a, b in pairs)


_CAN = frozenset(("can", "could", "may", "might", "should", "shall"))


def _clause_start(words: list[Word], i: int) -> bool:
    return i == 0 or words[i - 1].text in _SENTENCE_END or words[i - 1].text in (",", ";", "-")


def _details(words: list[Word], i: int) -> bool:
    """'including her phone number and email', 'especially the kidney ones': parts of what
    was asked for, quieted up to the clause's end; any word that may act stops it unquieted."""
    opener = _including(words, i)
    if not opener or _rights_near(words, i):
        return False
    rest: list[Word] = []
    for word in words[i + opener :]:
        if word.kind == w.SEP or (word.kind == w.CONJ and word.text != "and"):
            break
        prev = rest[-1] if rest else None
        in_phrase = prev is not None and prev.kind not in (w.CONJ, w.PREP)  # "her phone number"
        in_phrase = in_phrase or (word.kind == w.BOTH and bool(word.extra.get("object")))
        gerund = word.gerund and not word.extra.get("object")  # "including deleting them"
        if gerund or word.kind in (w.NEG, w.TO) or (_is_verb(word, None) and not in_phrase):
            return False
        rest.append(word)
    for word in [*words[i : i + opener], *rest]:
        word.extra["circumstance"] = True
        quiet(word)
    return bool(rest)


def _including(words: list[Word], i: int) -> int:
    """How many words open a list of details here: 'including' 1, 'for instance' 2, or 0."""
    low = words[i].text.lower()
    pair = (low, words[i + 1].text.lower()) if i + 1 < len(words) else (low, "")
    return 1 if low in _INCLUDING else 2 if pair in _FOR_INSTANCE else 0


_INCLUDING = frozenset(("including", "incl", "especially", "particularly", "notably"))
_FOR_INSTANCE = frozenset((("for", "instance"), ("for", "example"), ("such", "as")))


def _apposition(words: list[Word], i: int) -> bool:
    """Brackets right after a person say who they are (first, when the person was taken out
    as whom the agent acts for): quiet them, unless they hold a verb or talk rights."""
    if words[i].text != "(" or (i > 0 and words[i - 1].kind not in (w.NAME, w.PARTY)):
        return False
    end = next((j for j in range(i + 1, min(len(words), i + 8)) if words[j].text == ")"), None)
    if end is None or _rights_near(words, i) or any(_is_verb(x, None) for x in words[i:end]):
        return False
    for word in words[i : end + 1]:
        word.extra["circumstance"] = True
        quiet(word)
    return True


def _opens(words: list[Word], i: int, mappable: frozenset[str]) -> int | None:
    """Where the circumstance clause starting at word i begins to be quieted, or None."""
    low = words[i].text.lower()
    nxt = words[i + 1] if i + 1 < len(words) else None
    if nxt is None:
        return None
    if low in _REASON and (low != "as" or _subject_clause(words, i + 1)):
        return i
    if low in _TIME and (nxt.kind == w.DET or _subject_clause(words, i + 1)):
        return i  # "after the disconnect", "once they pay"; "after deleting ..." is asked
    if low in _PURPOSE and _others_clause(words, i + 2 if nxt.text.lower() == "that" else i + 1):
        return i  # "so that the crew can start"; "so (that) I can …" is the asker's own next ask
    if words[i].kind == w.TO and (_purpose(words, i, mappable) or _so_that(words, i + 1)):
        return i
    if words[i - 1].text in (",", ";") and _subject_clause(words, i):
        return i  # "…, the tenant moves out Friday", "…, they've paid in full"
    if _describing_participle(words, i, mappable):
        return i  # "…, sorted by plot", "the week starting Monday"
    return None


def _describing_participle(words: list[Word], i: int, mappable: frozenset[str]) -> bool:
    """A participle or gerund of a verb this catalog cannot map, after a comma or right after
    a noun, before a preposition, a name, a number or a determiner: it says how or when."""
    word, prev = words[i], words[i - 1]
    low = word.text.lower()
    form = low.endswith(("ed", "ing")) and low != word.base and word.kind in _VERBISH
    placed = prev.text == "," or (prev.kind in _NOUNISH and prev.kind != w.ARG)
    nxt = words[i + 1] if i + 1 < len(words) else None
    # "…, deleting the originals" acts on something: a gerund before an object stays an ask
    after = (w.PREP, w.NAME, w.ARG) if low.endswith("ing") else (w.PREP, w.NAME, w.ARG, w.DET)
    follows = nxt is not None and nxt.kind in after
    return form and placed and follows and word.base not in mappable


def _subject_clause(words: list[Word], i: int, *, modal: bool = False) -> bool:
    """A subject that is not the asker's "I", then a finite verb: '(I) can', 'the tenant
    moves', 'they've paid'. "I can" counts only after a subordinator (a purpose)."""
    first = words[i]
    low = first.text.lower()
    if low in _OTHERS_HAVE:
        return True
    if low in ("i", "we") or low in _OTHERS:
        nxt = words[i + 1] if i + 1 < len(words) else None
        return nxt is not None and (nxt.text.lower() in _MODAL_OR_HAVE or _finite(nxt, True))
    j = i + 1 if first.kind == w.DET or low in lx.DETERMINERS else i
    head = j
    while head < len(words) and _nounish(words[head]) and head - j < 3:
        if head > j and _finite(words[head]):
            break  # "the frost ruined": the noun's verb, not a second noun
        head += 1
    if head == j or head >= len(words):
        return False
    low = words[head].text.lower()
    return low in _HAVE or (modal and low in MODALS) or (_finite(words[head]) and low not in MODALS)


def _nounish(word: Word) -> bool:
    """A noun of a subject, also one modifiers.py already read as telling ("the frost")."""
    told = word.kind == w.ADV and word.extra.get("object") is False
    return word.kind in _NOUNISH or (told and bool(wn.pos(word.base) & wn.NOUN))


def _others_clause(words: list[Word], i: int) -> bool:
    """'(so that) the crew can start': someone else's part, modal or not."""
    low = words[i].text.lower() if i < len(words) else "i"
    return low not in _ASKER and _subject_clause(words, i, modal=True)


def _so_that(words: list[Word], i: int) -> bool:
    """'so that the crew can start' (joined into "to" by the phrase table): with its modal."""
    modal = next(
        (j for j in range(i, min(len(words), i + 5)) if words[j].text.lower() in MODALS), None
    )
    return modal is not None and _others_clause(words, i) and modal > i


def _finite(word: Word, after_pronoun: bool = False) -> bool:
    """A third-person or past form: 'moves', 'paid', 'ruined' (not a plain 'move')."""
    low = word.text.lower()
    verbish = word.kind in _VERBISH or word.extra.get("described")  # already read as telling
    if not verbish or low == word.base or not wn.is_verb(word.base):
        return False
    if low.endswith("s") and not low.endswith("ss"):
        # "moves", not "reviews": a plural the catalog knows as a thing is a noun, unless a
        # pronoun is its subject ("once it ships")
        noun = word.kind not in (w.VERB, w.ACTION, w.UNKNOWN) or word.extra.get("object")
        return after_pronoun or not noun
    return low.endswith("ed") or wn.irregular(low) is not None or low in lx.IRREGULAR


def _purpose(words: list[Word], i: int, mappable: frozenset[str]) -> bool:
    """'to replant the beds', 'to get to the station' after the asked action's object: a
    purpose, when its verb is none this catalog maps or it only goes somewhere."""
    if i < 1 or words[i - 1].kind not in (*_NOUNISH, w.PRON) or i + 1 >= len(words):
        return False
    if words[i - 1].text.lower() == "order" and i >= 2 and words[i - 2].text.lower() == "in":
        return False  # "in order to upload them": the asker's own next step
    verb = words[i + 1]
    if verb.kind not in _VERBISH or not wn.is_verb(verb.base):
        return False
    after = words[i + 2] if i + 2 < len(words) else None
    going = after is not None and after.kind in (w.TO, w.PREP)  # "get to", "go out to"
    # "to upload them", "to leak it": what was asked for is acted on again, a second ask
    again = any(x.kind == w.PRON for x in words[i + 2 : i + 4])
    return going or (verb.base not in mappable and not again)


def _quiet_clause(words: list[Word], start: int, mappable: frozenset[str]) -> None:
    """Quiet from the opener to the clause's end; a verb the catalog maps ends it unless a
    subject of its own or a past form says it is someone else's ("they've paid"), or it is
    the purpose's own verb, already judged ("to get to the station")."""
    told = _subject_clause(words, start) or _subject_clause(words, start + 1)
    judged = words[start + 1] if words[start].kind == w.TO else None
    # "after the patch", "because of the works": a noun phrase names an event, no action
    event = (
        words[start].kind != w.TO
        and any(x.kind == w.DET for x in words[start + 1 : start + 3])
        and not told
    )
    for i, word in enumerate(words[start:], start):
        ends = (w.SEP, w.CONJ) if told else (w.SEP, w.CONJ, w.NEG)  # "they never got it"
        if word.kind in ends and word is not words[start] and word.text.lower() not in _WITHIN:
            return
        if told and word.kind == w.TO and i > start:
            return  # "the supervisor says to wipe it", "asked me to move it": passed on to me
        # "the first sowing": after a determiner a verb's form is a noun
        noun = told and any(x.text.lower() in lx.DETERMINERS for x in words[i - 2 : i])
        said_of_others = (told and _finite(word)) or word is judged or event or noun
        if word.base in mappable and word.kind in _VERBISH and not said_of_others:
            return
        word.extra["circumstance"] = True
        quiet(word)


def _is_verb(word: Word, prev: Word | None) -> bool:
    """The sentence's asked verb; a word that is also a noun ("Order", "Book") counts where a
    verb stands: first, or after "I", "can", "to"."""
    if word.kind == w.BOTH:
        return prev is None or prev.kind in (w.STOP, w.SEP, w.CONJ, w.TO)
    return word.kind in (w.ACTION, w.VERB, w.SYNONYM, w.VAGUE) or (
        word.kind == w.UNKNOWN and wn.is_verb(word.base) and not wn.never_a_verb(word.base)
    )


def _rights_till_end(words: list[Word], i: int) -> bool:
    """Rights talk anywhere in the rest of the sentence; what someone else said or asked
    ("says", "asked") reports, it orders nothing."""
    end = next((j for j in range(i, len(words)) if words[j].text in _SENTENCE_END), len(words))
    return any(_rights_word(x) and not _reported(x) for x in words[i:end])


def _rights_word(word: Word) -> bool:
    return word.base in _RIGHTS or word.text.lower() in _RIGHTS


def _reported(word: Word) -> bool:
    return word.base in _REPORTING and word.text.lower() != word.base


_REPORTING = frozenset(("say", "tell", "ask", "mention", "write", "explain"))


def _rights_near(words: list[Word], i: int) -> bool:
    return any(_rights_word(x) for x in words[i : i + 8])

"""WordNet 3.0, as the Ask interpreter uses it: verb senses, noun <-> verb forms, parts of speech.

The data file is built by scripts/build_wordnet_data.py and ships in the package, so nothing is
fetched at run time. It is read lazily, once per process, on the first question that needs it.
WordNet 3.0 Copyright 2006 by Princeton University (data/WORDNET-LICENSE).
"""

import gzip
import json
from functools import cache, lru_cache
from pathlib import Path

from app.authz.interpreter.wordnet_tables import (
    CONCRETE,
    MOSTLY_NOUN,
    POS_BITS,
    TAGGED,
    Lexicon,
    Lines,
    Table,
)
from app.core import native_heap

DATA = Path(__file__).with_name("data") / "wordnet.json.gz"
NOUN, VERB, ADJ, ADV = 1, 2, 4, 8
# Only a verb's commonest senses count: WordNet lists rare ones too ("pull up" = halt a car),
# and a rare sense that happens to name a catalog action must not win. Three, not two: the
# third still names everyday uses ("cancel" = strike down, i.e. void); a fourth let "delete"
# be "edit" (edit: blue-pencil, delete) and was dropped.
SENSES = 3
# What is remembered per word read from a question: bounded, for the words come from whoever
# asks, and a tenant sending a stream of made-up words must not grow every process's memory.
WORDS_REMEMBERED = 8192


@cache
def _data() -> dict:
    tables = _read()
    # What the parse allocated and dropped is held by the C heap until handed back: 8 MiB.
    native_heap.give_back_freed_memory()
    return tables


def _read() -> dict:
    raw = json.loads(gzip.decompress(DATA.read_bytes()))
    pos = {w: int(bits) for bits, words in raw.pop("pos").items() for w in words.split()}
    flagged = {
        TAGGED: raw.pop("tagged").split(),
        MOSTLY_NOUN: raw.pop("mostly_nouns", "").split(),
        CONCRETE: raw.pop("concrete", "").split(),
    }
    senses = dict(line.split(" ", 1) for line in raw.pop("noun_senses").split("\n"))
    noun_synsets = Lines(raw.pop("noun_synsets"))
    verb_synsets = Lines(
        "\n".join(
            " ".join(lemmas) + "|" + " ".join(map(str, ups)) for lemmas, ups in raw.pop("synsets")
        )
    )
    verbs = Table({verb: " ".join(map(str, senses)) for verb, senses in raw.pop("verbs").items()})
    noun_verbs = Table({noun: " ".join(vs) for noun, vs in raw.pop("noun_verbs").items()})
    # Every table but the small one of irregular forms stays compact text (wordnet_tables.py):
    # read as dicts, sets and lists the extract held 36 MiB of heap, so 5 MiB (tracemalloc).
    return raw | {
        "lexicon": Lexicon(pos, flagged, senses),
        "noun_synsets": noun_synsets,
        "verb_synsets": verb_synsets,
        "verbs": verbs,
        "noun_verbs": noun_verbs,
    }


def pos(word: str) -> int:
    """Bits of the parts of speech WordNet knows for a single word (0: unknown)."""
    return _flags(word) & POS_BITS


@lru_cache(maxsize=WORDS_REMEMBERED)
def _flags(word: str) -> int:
    return _data()["lexicon"].flags(word)


def irregular(word: str) -> str | None:
    """The base of an irregular verb form or plural: 'rang' -> 'ring', 'mice' -> 'mouse'."""
    return _data()["irregular"].get(word)


def common(word: str) -> bool:
    """WordNet's corpus uses the word: a real word someone meant, not a rare one a typo made."""
    return bool(_flags(word) & TAGGED)


def mostly_noun(word: str) -> bool:
    """A verb WordNet's tagged corpus uses at least three times as often as a noun: 'traffic'."""
    return bool(_flags(word) & MOSTLY_NOUN)


def concrete(noun: str) -> bool:
    """One of the noun's two commonest senses is a physical thing: 'package', not 'profile'."""
    return bool(_flags(noun) & CONCRETE)


def is_noun(word: str) -> bool:
    return _sense_line(word) is not None


@lru_cache(maxsize=WORDS_REMEMBERED)
def _sense_line(noun: str) -> str | None:
    return _data()["lexicon"].senses(noun)


def is_verb(word: str) -> bool:
    return _verb_line(word) is not None


@lru_cache(maxsize=WORDS_REMEMBERED)
def _verb_line(verb: str) -> str | None:
    return _data()["verbs"].get(verb)


@lru_cache(maxsize=WORDS_REMEMBERED)
def only_verb_beginning(prefix: str) -> str | None:
    """The one single-word verb that begins with the prefix ('ack': acknowledge), or None when
    none or several do ('exp': expand, expect, expire…)."""
    words = [v for v in _data()["verbs"].keys_starting(prefix, 100_000) if "_" not in v]
    return words[0] if len(words) == 1 else None


def _indexes(line: str | None) -> list[int]:
    """A line of the extract's synset indexes ("12 40 7"), in its order."""
    return [int(i) for i in line.split()] if line else []


def _synset(table: str, synset: int) -> tuple[list[str], list[int]]:
    """A synset's lemmas and the indexes of its hypernyms ("lemma lemma|up up")."""
    lemmas, ups = _data()[table][synset].split("|")
    return lemmas.split(), _indexes(ups)


def _verb_senses(verb: str) -> list[int]:
    """The verb's senses, commonest first, as indexes of verb synsets."""
    return _indexes(_verb_line(verb))


def _verb_synset(synset: int) -> tuple[list[str], list[int]]:
    """A verb synset's lemmas and the indexes of its hypernyms."""
    return _synset("verb_synsets", synset)


def never_a_verb(word: str) -> bool:
    """WordNet knows the word, and only as a noun, adjective or adverb: not an action."""
    bits = pos(word)
    return bool(bits) and not bits & VERB and not is_verb(word)


@lru_cache(maxsize=WORDS_REMEMBERED)
def synonyms(verb: str) -> frozenset[str]:
    """The lemmas of the verb's commonest senses: 'reboot' -> boot, bring_up."""
    return frozenset(w for i in _verb_senses(verb)[:SENSES] for w in _verb_synset(i)[0])


@lru_cache(maxsize=WORDS_REMEMBERED)
def synonyms_with(verb: str, other: str) -> frozenset[str]:
    """The lemmas of the verb's commonest senses that also list `other`: 'pull_out' with 'pull'
    -> draw, extract, ... (the senses in which the bare verb means the phrasal one)."""
    senses = (_verb_synset(i)[0] for i in _verb_senses(verb)[:SENSES])
    return frozenset(w for lemmas in senses if other in lemmas for w in lemmas)


@lru_cache(maxsize=WORDS_REMEMBERED)
def broader(verb: str) -> frozenset[str]:
    """One step up from the commonest sense only: 'relocate' is a kind of 'move'."""
    senses = _verb_senses(verb)[:1]
    return frozenset(w for i in senses for h in _verb_synset(i)[1] for w in _verb_synset(h)[0])


@lru_cache(maxsize=WORDS_REMEMBERED)
def reach(verb: str, steps: int) -> dict[int, int]:
    """The synsets of the verb's commonest senses (0) and of their hypernyms (1, 2, ... steps up),
    each with its distance from the verb."""
    found: dict[int, int] = {}
    frontier = _verb_senses(verb)[:SENSES]
    for distance in range(steps + 1):
        above: list[int] = []
        for i in frontier:
            if i not in found:
                found[i] = distance
                above += _verb_synset(i)[1]
        frontier = above
    return found


def distance(question: dict[int, int], entry: dict[int, int]) -> int | None:
    """Steps between two verbs through their nearest shared synset, or None when none is shared."""
    shared = question.keys() & entry.keys()
    return min((question[i] + entry[i] for i in shared), default=None)


def noun_verbs(noun: str) -> tuple[str, ...]:
    """Verbs WordNet derives the noun from or to: 'payment' -> pay, 'refund' -> refund."""
    line = _data()["noun_verbs"].get(noun)
    return tuple(line.split()) if line else ()


@lru_cache(maxsize=WORDS_REMEMBERED)
def kinds(noun: str, steps: int) -> dict[str, int]:
    """The nouns a noun shares a common sense with (0) or is a kind of (1, 2, ... hypernym steps
    up): 'consignment' -> shipment (0), 'van' -> truck, ..., vehicle. Synsets near WordNet's
    root ('entity', 'artifact', 'act') name no kind worth reading and end the climb."""
    found: dict[str, int] = {}
    frontier = _noun_senses(noun)
    for distance in range(steps + 1):
        above: list[int] = []
        for i in frontier:
            if _depth(i) < GENERAL_DEPTH:
                continue
            lemmas, ups = _noun_synset(i)
            for lemma in lemmas:
                found.setdefault(lemma, distance)
            above += ups
        frontier = above
    found.pop(noun, None)
    return found


# Hypernym steps from WordNet's root below which a noun synset names a useful kind: "vehicle"
# (depth 7) does, "artifact" (4), "instrumentality" and "act" do not.
GENERAL_DEPTH = 6


@cache
def _depth(synset: int) -> int:
    """Fewest hypernym steps from the synset up to a root."""
    ups = _noun_synset(synset)[1]
    return 1 + min(_depth(h) for h in ups) if ups else 0


def _noun_senses(noun: str) -> list[int]:
    """The noun's commonest senses, as indexes of noun synsets."""
    return _indexes(_sense_line(noun))


def _noun_synset(synset: int) -> tuple[list[str], list[int]]:
    """A noun synset's single-word lemmas and the indexes of its hypernyms."""
    return _synset("noun_synsets", synset)

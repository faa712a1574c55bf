"""WordNet held compactly (app/authz/interpreter/wordnet_tables.py) answers as the plain tables did.

The reference is the extract read the plain way, as dicts and sets, the way wordnet.py read it
before: every function that reads a word gives the same answer for a sample of its words, for
words it lacks, and for every noun synset.
"""

import gzip
import json

import pytest

from app.authz.interpreter import wordnet
from app.authz.interpreter.wordnet_tables import Lexicon, Lines, Table


@pytest.fixture(scope="module")
def plain() -> dict:
    raw = json.loads(gzip.decompress(wordnet.DATA.read_bytes()))
    return {
        "pos": {w: int(bits) for bits, words in raw["pos"].items() for w in words.split()},
        "tagged": set(raw["tagged"].split()),
        "mostly_nouns": set(raw["mostly_nouns"].split()),
        "concrete": set(raw["concrete"].split()),
        "noun_senses": dict(line.split(" ", 1) for line in raw["noun_senses"].split("\n")),
        "noun_synsets": raw["noun_synsets"].split("\n"),
        "verbs": raw["verbs"],
        "synsets": raw["synsets"],
        "noun_verbs": raw["noun_verbs"],
    }


def _sample(plain: dict) -> list[str]:
    words = sorted(plain["pos"])
    made_up = ["", "zzzzzz", "aaaa-", "Payment", "a", "zyrian0", "é", "pay ment", "\x00"]
    return words[::37] + words[:5] + words[-5:] + made_up


def test_each_word_reads_the_same_parts_of_speech_and_flags(plain):
    for word in _sample(plain):
        assert wordnet.pos(word) == plain["pos"].get(word, 0), word
        assert wordnet.common(word) == (word in plain["tagged"]), word
        assert wordnet.mostly_noun(word) == (word in plain["mostly_nouns"]), word
        assert wordnet.concrete(word) == (word in plain["concrete"]), word
        assert wordnet.is_noun(word) == (word in plain["noun_senses"]), word


def test_every_flagged_word_keeps_its_flag(plain):
    assert all(wordnet.common(word) for word in plain["tagged"])
    assert all(wordnet.mostly_noun(word) for word in plain["mostly_nouns"])
    assert all(wordnet.concrete(word) for word in plain["concrete"])


def test_each_noun_reads_the_same_senses_and_synsets(plain):
    for noun in list(plain["noun_senses"])[::29] + ["zzzzzz", ""]:
        line = plain["noun_senses"].get(noun)
        assert wordnet._noun_senses(noun) == ([int(i) for i in line.split()] if line else [])
    for number, line in enumerate(plain["noun_synsets"]):
        lemmas, ups = line.split("|")
        assert wordnet._noun_synset(number) == (lemmas.split(), [int(i) for i in ups.split()])


def test_each_verb_reads_the_same_senses_synonyms_and_hypernyms(plain):
    verbs, synsets = plain["verbs"], plain["synsets"]
    for verb in sorted(verbs)[::23] + ["zzzzzz", "", "payment"]:
        senses = verbs.get(verb, [])
        assert wordnet.is_verb(verb) == (verb in verbs), verb
        expected = frozenset(w for i in senses[:3] for w in synsets[i][0])
        assert wordnet.synonyms(verb) == expected, verb
        above = frozenset(w for i in senses[:1] for h in synsets[i][1] for w in synsets[h][0])
        assert wordnet.broader(verb) == above, verb
        assert set(wordnet.reach(verb, 2)) >= set(senses[:3]), verb
    for number, (lemmas, ups) in enumerate(synsets):
        assert wordnet._verb_synset(number) == (lemmas, ups)


def test_each_noun_reads_the_same_verbs(plain):
    for noun in sorted(plain["noun_verbs"])[::7] + ["zzzzzz", ""]:
        assert wordnet.noun_verbs(noun) == tuple(plain["noun_verbs"].get(noun, ())), noun


def test_a_table_finds_each_key_and_nothing_else():
    table = Table({"pay": "1 2", "abandon": "3", "zap": ""})
    assert [table.get(k) for k in ("abandon", "pay", "zap")] == ["3", "1 2", ""]
    assert table.get("pa") is None and table.get("zzz") is None and table.get("") is None


def test_an_empty_table_finds_nothing_not_even_the_empty_key():
    assert Table({}).get("") is None
    assert Table({"a": "1"}).get("") is None


def test_an_empty_lexicon_knows_no_word_not_even_the_empty_one():
    lexicon = Lexicon({}, {}, {})
    assert lexicon.flags("") == 0
    assert lexicon.senses("") is None


def test_lines_are_read_by_number_and_end_where_the_text_ends():
    lines = Lines("a\nbb\n\nccc")
    assert len(lines) == 4 and list(lines) == ["a", "bb", "", "ccc"]
    with pytest.raises(IndexError):
        lines[4]


def test_reading_the_extract_gives_the_freed_parse_back_to_the_system(monkeypatch):
    from app.core import native_heap

    calls: list[str] = []
    monkeypatch.setattr(native_heap, "give_back_freed_memory", lambda: calls.append("trim"))
    wordnet._data.cache_clear()
    try:
        # the extract itself, not a word: answers per word are remembered (an earlier test in
        # this process may have asked about any word already)
        assert wordnet._data() is not None
        assert calls == ["trim"]
    finally:
        wordnet._data.cache_clear()  # later tests read it again, without the stand-in


def test_giving_back_freed_memory_is_safe_to_call():
    from app.core import native_heap

    # True exactly where the C library has a way to give pages back (glibc's malloc_trim)
    has_trim = native_heap._malloc_trim() is not None
    assert native_heap.give_back_freed_memory() is has_trim

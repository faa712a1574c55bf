"""Build app/authz/interpreter/data/wordnet.json.gz from the WordNet 3.0 database files.

The Ask interpreter reads this file (lazily, once) so that it knows the language rather than
the words of its own tests, and needs nothing at run time. Run it where the database is:

    apt-get install -y wordnet-base   # Debian: /usr/share/wordnet
    python scripts/build_wordnet_data.py [--wordnet /usr/share/wordnet]

What is kept, and why:
- verb synsets (their single- and multi-word lemmas) and their hypernyms: "relocate" is a
  kind of "move", "reboot" shares a synset with "boot";
- derivationally related forms between nouns and verbs: "payment" <-> "pay", "refund";
- which parts of speech each single word has, so that a word WordNet knows only as a noun or
  an adjective ("mobile", "abstract", "quarterly") is read as an object or a modifier, not as
  an action the catalog lacks;
- irregular verb forms and plurals ("rang" -> "ring", "wrote" -> "write");
- verbs its sense-tagged corpus uses mostly as nouns ("traffic", "author"), so that a
  description opening with one before a noun ("Traffic dashboards") has no lead verb;
- noun synsets (their single-word lemmas) with their hypernyms, and each noun's three commonest
  senses: "van" is a kind of "vehicle", "consignment" shares a sense with "shipment", so an
  object the catalog does not name may still be a kind of what a permission's name names;
- single nouns one of whose two commonest senses is a physical thing (under WordNet's
  "physical entity"): "package", "van", not "profile", "figures"; reading a customer's profile
  is reading the customer, reading a customer's package is not;
- which words were ever sense-tagged in its corpus, so that a common word ("watch") is never
  "corrected" into a catalog word ("patch") while a rare one ("calender") still may be.
WordNet 3.0 Copyright 2006 by Princeton University; see data/WORDNET-LICENSE.
"""

import argparse
import gzip
import json
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "app/authz/interpreter/data/wordnet.json.gz"
_WORD = re.compile(r"^[a-z][a-z\-]{1,24}$")
_POS_BIT = {"n": 1, "v": 2, "a": 4, "s": 4, "r": 8}


def parse_data(path: Path):
    """Yield (offset, pos, lemmas, pointers) for each synset line of a data.* file."""
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue  # the licence header
        fields = line.split(" | ")[0].split()
        offset, pos, count = fields[0], fields[2], int(fields[3], 16)
        lemmas = [fields[4 + 2 * i].lower() for i in range(count)]
        lemmas = [re.sub(r"\(.*\)$", "", w) for w in lemmas]  # "(p)" adjective markers
        at = 4 + 2 * count
        pointers = []
        for i in range(int(fields[at])):
            symbol, target, tpos, st = fields[at + 1 + 4 * i : at + 5 + 4 * i]
            pointers.append((symbol, target, tpos, int(st[:2], 16), int(st[2:], 16)))
        yield offset, pos, lemmas, pointers


def senses(wordnet: Path, pos: str = "verb"):
    """(lemma, synset offsets) from index.<pos>, most frequent sense first."""
    for line in (wordnet / f"index.{pos}").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        fields = line.split()
        count = int(fields[2])
        yield fields[0], fields[-count:]


def tagged(wordnet: Path) -> set[str]:
    """Single words some sense of which was tagged in WordNet's sense-tagged corpus (SemCor):
    words people actually write, as opposed to rare ones ('calender') a typo may produce."""
    found: set[str] = set()
    for name in ("noun", "verb", "adj", "adv"):
        for line in (wordnet / f"index.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue
            fields = line.split()
            pointers = int(fields[3])
            if int(fields[5 + pointers]) > 0 and _WORD.match(fields[0]):
                found.add(fields[0])
    return found


def mostly_nouns(wordnet: Path, verbs: set[str]) -> set[str]:
    """Verbs its sense-tagged corpus uses as nouns at least three times as often as as verbs
    (and at least three times): 'traffic', 'author', 'staff'. A description opening with one before a
    noun ('Traffic dashboards') names a thing, not an action."""
    counts: dict[str, list[int]] = {}
    for line in (wordnet / "cntlist.rev").read_text(encoding="latin-1").splitlines():
        key, _sense, count = line.split()
        lemma, _, rest = key.partition("%")
        pos = rest[:1]
        if pos in ("1", "2") and _WORD.match(lemma):
            counts.setdefault(lemma, [0, 0])[int(pos) - 1] += int(count)
    return {w for w, (n, v) in counts.items() if w in verbs and n >= 3 and n >= 3 * v}


def irregular(wordnet: Path) -> dict[str, str]:
    """Irregular verb forms and plurals from verb.exc and noun.exc: 'rang' -> 'ring'."""
    found: dict[str, str] = {}
    for name in ("verb", "noun"):
        for line in (wordnet / f"{name}.exc").read_text(encoding="latin-1").splitlines():
            form, *bases = line.split()
            if bases and _WORD.match(form) and _WORD.match(bases[0]):
                found.setdefault(form, bases[0])
    return found


def _by_pos(pos_bits: dict[str, int]) -> dict[str, str]:
    """Words grouped by their set of parts of speech: one string each, compresses well."""
    groups: dict[str, list[str]] = {}
    for word, bits in sorted(pos_bits.items()):
        groups.setdefault(str(bits), []).append(word)
    return {bits: " ".join(words) for bits, words in groups.items()}


# A noun's commonest senses: enough for "van" (its truck sense is the third), few enough that a
# rare sense does not make an everyday word a kind of some catalog noun.
NOUN_SENSES = 3


def nouns(wordnet: Path) -> tuple[list[list], dict[str, list[int]]]:
    """Noun synsets as [single-word lemmas, hypernym indexes], and each single noun's
    commonest senses as indexes into them."""
    index: dict[str, int] = {}
    synsets: list[list] = []
    pointers_of = []
    for offset, _pos, lemmas, pointers in parse_data(wordnet / "data.noun"):
        index[offset] = len(synsets)
        synsets.append([[w for w in lemmas if _WORD.match(w)], []])
        pointers_of.append(pointers)
    for i, pointers in enumerate(pointers_of):
        synsets[i][1] = [index[t] for s, t, p, *_ in pointers if s in ("@", "@i") and p == "n"]
    commonest = {
        lemma: [index[o] for o in offsets[:NOUN_SENSES]]
        for lemma, offsets in senses(wordnet, "noun")
        if _WORD.match(lemma)
    }
    return synsets, commonest


PHYSICAL_ENTITY = "00001930"  # physical_entity.n.01 in WordNet 3.0's data.noun


def concrete_nouns(wordnet: Path) -> list[str]:
    """Single nouns one of whose two commonest senses lies under 'physical entity'."""
    hypernyms: dict[str, list[str]] = {}
    for offset, _pos, _lemmas, pointers in parse_data(wordnet / "data.noun"):
        hypernyms[offset] = [t for s, t, p, *_ in pointers if s in ("@", "@i") and p == "n"]
    physical: dict[str, bool] = {PHYSICAL_ENTITY: True}

    def is_physical(offset: str) -> bool:
        if offset not in physical:
            physical[offset] = False  # a guard against cycles while it is being decided
            physical[offset] = any(is_physical(h) for h in hypernyms[offset])
        return physical[offset]

    return sorted(
        lemma
        for lemma, offsets in senses(wordnet, "noun")
        if _WORD.match(lemma) and any(is_physical(o) for o in offsets[:2])
    )


def build(wordnet: Path) -> dict:
    verbs: dict[str, int] = {}  # verb synset offset -> index
    synsets: list[list] = []
    raw: dict[str, tuple] = {}
    for offset, _pos, lemmas, pointers in parse_data(wordnet / "data.verb"):
        verbs[offset] = len(synsets)
        synsets.append([lemmas, []])
        raw[offset] = (lemmas, pointers)
    for offset, (_lemmas, pointers) in raw.items():
        synsets[verbs[offset]][1] = [verbs[t] for s, t, p, *_ in pointers if s == "@" and p == "v"]
    lemma_index = {lemma: [verbs[o] for o in offsets] for lemma, offsets in senses(wordnet)}
    derived: dict[str, set[str]] = {}
    pos_bits: dict[str, int] = {}
    for name in ("noun", "verb", "adj", "adv"):
        for _offset, pos, lemmas, pointers in parse_data(wordnet / f"data.{name}"):
            for lemma in lemmas:
                if _WORD.match(lemma):
                    pos_bits[lemma] = pos_bits.get(lemma, 0) | _POS_BIT[pos]
            if pos != "n":
                continue
            for symbol, target, tpos, source, dest in pointers:
                if symbol == "+" and tpos == "v" and source and target in raw:
                    verb = raw[target][0][dest - 1]
                    derived.setdefault(lemmas[source - 1], set()).add(verb)
    noun_synsets, noun_senses = nouns(wordnet)
    return {
        "about": "WordNet 3.0 extract, Copyright 2006 by Princeton University (see WORDNET-LICENSE)",
        "synsets": synsets,
        "verbs": lemma_index,
        "noun_verbs": {n: sorted(v) for n, v in sorted(derived.items()) if _WORD.match(n)},
        "pos": _by_pos(pos_bits),  # bits: 1 noun, 2 verb, 4 adjective, 8 adverb
        "tagged": " ".join(sorted(tagged(wordnet))),
        "mostly_nouns": " ".join(sorted(mostly_nouns(wordnet, set(lemma_index)))),
        "irregular": irregular(wordnet),
        "concrete": " ".join(concrete_nouns(wordnet)),
        # The noun sections are text, a line a synset or noun, read on demand: as JSON lists
        # they cost a process ~45 MiB once parsed, as text ~10 MiB.
        "noun_synsets": "\n".join(
            " ".join(lemmas) + "|" + " ".join(map(str, ups)) for lemmas, ups in noun_synsets
        ),
        "noun_senses": "\n".join(
            " ".join([noun, *map(str, indexes)]) for noun, indexes in noun_senses.items()
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = json.dumps(build(args.wordnet), separators=(",", ":"), sort_keys=True)
    args.out.write_bytes(gzip.compress(data.encode(), mtime=0))
    print(f"{args.out}: {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()

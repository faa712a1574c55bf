"""WordNet's 82,000 words held compactly: one sorted text, searched by halves, a byte of flags each.

As Python dicts, sets and lists (a str object per word and per entry, repeated in each table)
the extract took 36 MiB of a process's heap; held here it takes 5 MiB: the words in one string
with their start offsets, a byte of flags per word and the offset of its noun senses (Lexicon),
the verbs' senses and the nouns' verbs as sorted keys and values (Table), the synsets as lines
(Lines). A lookup is a binary search (17 steps) instead of a hash, a few microseconds; callers
remember what they read per word (wordnet.py's bounded caches).
"""

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping

# Flag bits above the four part-of-speech bits (wordnet.NOUN | VERB | ADJ | ADV).
POS_BITS = 0x0F
TAGGED, MOSTLY_NOUN, CONCRETE = 0x10, 0x20, 0x40


class Lines:
    """Lines of one text, by number, without a str object per line until one is read."""

    __slots__ = ("_text", "_starts")

    def __init__(self, text: str) -> None:
        self._text = text
        starts = array("I", [0])
        find, at = text.find, 0
        while (at := find("\n", at) + 1) > 0:
            starts.append(at)
        starts.append(len(text) + 1)  # where a line after the last would start
        self._starts = starts

    @classmethod
    def joined(cls, lines: list[str]) -> "Lines":
        """The lines as one text. No lines at all are no line: joined, they would read as the
        empty text, which is one empty line (a table without keys would find the key "")."""
        made = cls("\n".join(lines))
        if not lines:
            made._starts = array("I", [0])
        return made

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, number: int) -> str:
        if not 0 <= number < len(self):
            raise IndexError(number)
        return self._text[self._starts[number] : self._starts[number + 1] - 1]


class Table:
    """A str -> str mapping held as two texts, the sorted keys and their values, a line each
    (neither may hold a newline): a lookup is a binary search over the keys."""

    __slots__ = ("_keys", "_values")

    def __init__(self, items: Mapping[str, str]) -> None:
        keys = sorted(items)
        self._keys = Lines.joined(keys)
        self._values = Lines.joined([items[key] for key in keys])

    def get(self, key: str) -> str | None:
        at = bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            return self._values[at]
        return None

    def keys_starting(self, prefix: str, most: int) -> list[str]:
        """Up to `most` keys that begin with the prefix, in order."""
        found: list[str] = []
        at = bisect_left(self._keys, prefix) if prefix else len(self._keys)
        while at < len(self._keys) and len(found) < most:
            key = self._keys[at]
            if not key.startswith(prefix):
                break
            found.append(key)
            at += 1
        return found


class Lexicon:
    """The words WordNet knows, each with its flags and (for a noun) its sense line."""

    __slots__ = ("_words", "_flags", "_senses", "_sense_text")

    def __init__(
        self,
        pos: Mapping[str, int],
        flagged: Mapping[int, Iterable[str]],
        senses: Mapping[str, str],
    ) -> None:
        words = sorted(pos)
        self._words = Lines.joined(words)
        index = {word: i for i, word in enumerate(words)}
        self._flags = bytearray(pos[word] & POS_BITS for word in words)
        for flag, members in flagged.items():
            for word in members:
                self._flags[index[word]] |= flag  # KeyError: a flagged word WordNet lacks
        # Each noun's sense line, as an offset into one text (-1: not a noun).
        self._senses = array("i", [-1]) * len(words)
        self._sense_text = "\n".join(senses.values())
        at = 0
        for noun, line in senses.items():
            self._senses[index[noun]] = at
            at += len(line) + 1

    def _find(self, word: str) -> int:
        """The word's number, or -1."""
        at = bisect_left(self._words, word)
        return at if at < len(self._words) and self._words[at] == word else -1

    def flags(self, word: str) -> int:
        at = self._find(word)
        return self._flags[at] if at >= 0 else 0

    def senses(self, noun: str) -> str | None:
        """The noun's sense line (synset numbers), or None when it is not a noun."""
        at = self._find(noun)
        start = self._senses[at] if at >= 0 else -1
        if start < 0:
            return None
        end = self._sense_text.find("\n", start)
        return self._sense_text[start : end if end >= 0 else len(self._sense_text)]

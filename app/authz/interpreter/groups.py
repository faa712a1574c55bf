"""What the grouper makes of a question: verb groups, each with its objects, and the problems.

"read and summarize documents" is one group (two verbs, one object); "read documents and delete
them" is two. The interpreter resolves each group's verbs against its objects (builtin.py).
"""

from dataclasses import dataclass, field

from app.authz.interpreter.words import Word


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

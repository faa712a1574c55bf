"""Value types shared by the Ask API's interpreters and the service that answers questions."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogEntry:
    """One permission of the org's catalog as an admin described it."""

    permission: str
    description: str | None = None
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapping:
    """A phrase of the question and the catalog permission it was read as."""

    phrase: str
    permission: str
    # How sure the reading is that the phrase means this permission (0-1): 1 for the catalog's
    # own words, less for a corrected typo, a WordNet guess, a dropped particle.
    confidence: float = 1.0


@dataclass(frozen=True)
class Interpretation:
    """What an interpreter proposes; it never decides anything by itself."""

    mappings: tuple[Mapping, ...]
    unresolved: tuple[str, ...]
    on_behalf_of: str | None
    reasons: tuple[str, ...]
    interpreter: str  # "builtin" | "llm" | "llm-fallback-builtin"
    # Unresolved phrases that look like an attempt to steer the answer (markup, "ignore ...",
    # admin rights). Another interpreter's reading never overrides these.
    alarms: tuple[tuple[str, str], ...] = ()
    # How sure the reading is of the question as a whole, before the mappings' own confidence:
    # each remark or modifier it skipped as naming no action lowers it.
    confidence: float = 1.0

    @property
    def permissions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.permission for m in self.mappings))


def refusal(phrase: str, reason: str, *, interpreter: str = "builtin") -> Interpretation:
    """An interpretation that maps nothing and says why, so the answer fails closed."""
    return Interpretation((), (phrase,), None, (reason,), interpreter)

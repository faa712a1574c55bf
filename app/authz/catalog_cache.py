"""An org's catalog as the Ask API reads it, cached with the readings of questions asked."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.authz import catalog as permissions
from app.authz.interpreter import CatalogEntry, Interpretation, Interpreter
from app.core.cache import TtlCache
from app.core.db import read_session
from app.settings import get_settings


@dataclass(frozen=True)
class Catalog:
    """An org's catalog and the readings of questions already asked against it.

    The interpreters are functions of (question, catalog), and agents ask the same questions in
    their loops: a reading is kept as long as the catalog it was made from (reloaded every
    decision_cache_seconds, or at once after a permission is defined). Decisions are never cached.
    """

    entries: tuple[CatalogEntry, ...]
    readings: dict[str, Interpretation] = field(default_factory=dict)


MAX_READINGS = 2_000
_catalogs: TtlCache[Catalog] = TtlCache(lambda: get_settings().decision_cache_seconds)


def catalog_for(org_id: str) -> Catalog:
    def load() -> Catalog:
        with read_session() as session:
            rows = permissions.catalog(session, org_id=org_id)
        return Catalog(
            tuple(CatalogEntry(r.permission, r.description, tuple(r.synonyms)) for r in rows)
        )

    return _catalogs.get(org_id, load)


def invalidate_catalog(org_id: str) -> None:
    _catalogs.invalidate(org_id)


def remembering(catalog: Catalog, interpreter: Interpreter) -> Interpreter:
    """The interpreter, answering a question already read against this catalog from memory."""

    def read(question: str, entries: Sequence[CatalogEntry]) -> Interpretation:
        reading = catalog.readings.get(question)
        if reading is None:
            reading = interpreter(question, entries)
            if len(catalog.readings) >= MAX_READINGS:
                catalog.readings.clear()
            catalog.readings[question] = reading
        return reading

    return read

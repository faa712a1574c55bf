"""Reading data out to somewhere is moving it: "pull the guest list into a spreadsheet" exports.

A destination ("into a spreadsheet file", "to a CSV", "down to my laptop", "out of the system")
changes what a read asks (issue 15: an unmapped modifier fails closed when it changes the
meaning), so it is never dropped as a detail. A permission that only looks at data does not
cover it: the question is the catalog's export of the same thing when there is one, and is
refused when there is none.
"""

from dataclasses import replace

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import words as w
from app.authz.interpreter.index import CatalogIndex, Entry
from app.authz.interpreter.match import Ask, Found, match
from app.authz.interpreter.words import Word

# The lexicon's class for moving data out of the system ("download", "extract", "dump").
EXPORT = "export"


def moves_out(entry: Entry, destination: list[Word]) -> bool:
    """Does the question move what a viewing permission only shows? Not when the place is the
    entry's own ("read the API key out of the vault" against "Read secrets in the vault")."""
    own = any(x.base in entry.words or x.base in entry.resource for x in destination)
    return bool(destination) and entry.sense in lx.VIEWING and not own


def as_export(ask: Ask, index: CatalogIndex) -> Found:
    """The catalog's export of the asked object, by the lexicon's tiers only: a WordNet guess
    from "export" could land on any transfer ("pay"), and the object must confirm the entry."""
    verb = Word(ask.verb.text, EXPORT, w.ACTION, ask.verb.token)
    found = match(replace(ask, verb=verb), index)
    if found.entry is not None or "could mean any of" in found.reason:
        return found
    return Found(None, "'{phrase}' moves the data out; no catalog permission covers that")

"""Acts read into entries whose admin named a thing, not an act.

"bills.payment_plan: Payment arrangements", "hydrants.flush.schedule: Hydrant flushing schedule":
setting up or changing that thing is the entry. "pumps.control: Pump stations on/off": starting,
stopping or switching its own resource is. Each is one guess (THING), and the question's object
must be the thing itself ("issue the final bill" is no payment plan on bills; "switch off the
SCADA audit log" is no pump station), so a word that only qualifies it chooses nothing.
"""

from app.authz.interpreter import descriptions as desc
from app.authz.interpreter.index import Entry
from app.authz.interpreter.vocabulary import verb_class as vclass
from app.authz.interpreter.words import Word

# Making or changing what an entry is named after is a guess about its act (as a WordNet step).
MAKING_OR_CHANGING = frozenset(("create", "update"))
THING = 0.85


def reaches(entry: Entry, verb: Word, cls: str) -> bool:
    """Does a verb of this class act on the entry's thing (the matcher's last tier)?"""
    if entry.thing and cls in MAKING_OR_CHANGING:
        return True
    base = verb.extra.get("action") or verb.base
    return entry.switches and (cls in desc.SWITCHING or base in desc.SWITCH_VERBS)


def switches(verb: Word, phrase: list[Word], entry: Entry) -> bool:
    """'stop pump 3' against 'Pump stations on/off': an everyday verb the lexicon has no class
    for switches the entry's own resource."""
    particle = verb.extra.get("particle")
    compound = f"{verb.base}_{particle}" if particle else verb.base
    own = any(x.base in entry.resource for x in phrase)
    named = compound in desc.SWITCH_VERBS or verb.base in desc.SWITCH_VERBS
    return entry.switches and own and named


def confirmed(entry: Entry, phrase: list[Word]) -> bool:
    """The object is the thing itself: its head for a named thing, a word of it for a switch."""
    if entry.switches:
        return any(x.base in entry.resource for x in phrase)
    head = phrase[-1].base if phrase else ""
    return head in {*entry.words, entry.action, *entry.qualifiers}


def creates_existing(verb: Word, named_by_id: bool, entry: Entry) -> bool:
    """'Add account 55817 to the disconnects': a thing named with its id exists already, so a
    verb of making ('add', 'open') read into an entry that makes it is not what is asked."""
    making = vclass(verb.extra.get("action") or verb.base) == "create"
    return making and entry.sense == "create" and named_by_id

"""Objects the catalog does not name: when a head noun it lacks may still be read, as a guess.

"view the customer's profile" reads the customer (a part of a thing is read with the thing),
"see where the vans are" reads the vehicles (WordNet: a van is a kind of vehicle), and "see the
bill" reads "Guest bills (folios)" when no other reading entry names a bill. Each is one guess,
for the verbs and objects said below only; everything else stays unresolved (match.py).
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import wordnet as wn
from app.authz.interpreter import words as w
from app.authz.interpreter.index import Entry
from app.authz.interpreter.text import forms
from app.authz.interpreter.vocabulary import verb_class as vclass
from app.authz.interpreter.words import Word, named

# The owner, not the part asked about, chose the entry: one guess.
OWNER_ONLY = 0.9
# Hypernym steps from the question's noun to a permission's resource, and what such a reading
# is worth (as a WordNet step for a verb).
KIND_STEPS, KIND_ONLY = 4, 0.8


def _viewing(verb: Word) -> bool:
    return vclass(verb.extra.get("action") or verb.base) in lx.VIEWING


def owners(verb: Word, phrase: list[Word]) -> list[Word]:
    """'view the customer's profile', 'see the payroll figures': a part the catalog does not
    name ('profile', 'figures'), of an owner it does. Reading a thing's parts is reading the
    thing; changing or deleting a part is not changing or deleting the owner, so only viewing
    verbs read it so, and a physical thing ('the customer's package') is no part of its
    owner."""
    if not phrase or named(phrase) or not _viewing(verb):
        return []
    head = phrase[-1]
    # "the customer's package" is a thing of its own, not a part of the customer
    if head.kind != w.UNKNOWN or not wn.pos(head.base) & wn.NOUN or wn.concrete(head.base):
        return []
    # "the payroll figures", "the customer's profile": the owner or the noun qualifying the head
    return [x for x in phrase[:-1] if x.extra.get("object") or x.entry]


def kind_of_resource(phrase: list[Word], candidates: list[Entry]) -> list[Word]:
    """'see where the vans are' against 'View vehicle locations' (fleet.vehicles.read): a head
    noun the catalog does not name that WordNet places a few steps below the resource a
    permission's name gives ('van' is a kind of 'vehicle'), among the verb's candidates. Only
    kinds (a shared sense is too loose: 'history' is also an 'account'), and as one guess."""
    head = phrase[-1] if phrase else None
    if head is None or named(phrase) or head.kind != w.UNKNOWN:
        return []
    resources = {r for e in candidates for r in e.resource}
    noun = next((f for f in forms(head.text.lower()) if wn.is_noun(f)), head.base)  # "vans"
    near = {r: d for r, d in wn.kinds(noun, KIND_STEPS).items() if d and r in resources}
    if len(near) != 1:
        return []
    return [Word(head.text, next(iter(near)), w.OBJECT, head.token, extra={"object": True})]


def head_read(verb: Word, phrase: list[Word], entry: Entry, candidates: list[Entry]) -> bool:
    """'see the bill' against 'Guest bills (folios)': reading by a description's head noun is
    one guess, not a refusal, when no other candidate of the verb, in any tier, names that
    noun at all ("their account details" is no shipment's details); approving 'Tom's request'
    by 'holiday requests' stays weak (the request may be of any kind)."""
    head = phrase[-1].base if phrase else None
    if head is None or not _viewing(verb):
        return False
    others = [e for e in candidates if e is not entry]
    return not any(head in e.words or head in e.resource or head in e.family for e in others)

"""Places that name another target: a place or modifier whose noun is another entry's own
resource makes that entry a second reading of the same verb.

"see the student workers in the last payroll run" against "Student records" and "Payroll": the
payroll is what the question may be about, so reading only the student records would drop a
word that changes the target (issue 15: an unmapped modifier fails closed when it changes the
meaning). Both readings are named and the answer is refused. A place the chosen entry names
itself ("the invoices in the members area" for a members entry's word) or that no entry names
("for the squash section") is a detail of the same action.
"""

from collections.abc import Callable, Sequence

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter.index import Entry
from app.authz.interpreter.words import Word

# The tiers of one verb that a rival may come from: the admin's own opening verb, the same
# action, the same class; related classes and readings into things are too far to compete.
_NEAR_TIERS = 3


def named_elsewhere(
    phrase: Sequence[Word],
    hints: Sequence[Word],
    picked: Entry | None,
    tiers: list[list[Entry]],
    fits: Callable[[Entry, list[Word]], float],
) -> list[Entry]:
    """The entries this verb may also mean whose own resource a place of the question names,
    when the chosen entry's words do not name it and the object's head does not fit the chosen
    entry either (only a word qualifying it did: "the student workers"). An object that is the
    entry's own thing ("the water bill for account 22841") keeps its reading."""
    if picked is None or not phrase or fits(picked, [phrase[-1]]) > 0:
        return []
    mine = {*picked.resource, *picked.qualifiers, *picked.words, *picked.family}
    foreign = {
        h.base
        for h in hints
        if (h.extra.get("object") or h.entry) and h.base not in mine and h.base not in lx.PARTIES
    }
    rivals = {
        e.permission: e
        for tier in tiers[:_NEAR_TIERS]
        for e in tier
        if e is not picked and foreign & set(e.resource)
    }
    return list(rivals.values())

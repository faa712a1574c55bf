"""Everyday idioms whose verb names its action only with its complement: "mark X as done".

"mark job 12 as done", "mark the job complete" close it; "mark the job as urgent", "flag room
9 as clean" change it. The verb then reads as that action (close, update) and the state it
names is no object; without a state ("mark the job") the verb is read as it always was.
"""

from app.authz.interpreter import lexicon as lx
from app.authz.interpreter import words as w
from app.authz.interpreter.facts import quiet
from app.authz.interpreter.words import Word

_MARKING = frozenset(("mark", "flag"))
_FINISHED = frozenset(("done", "complete", "completed", "closed", "resolved", "solved", "finished"))
_ENDS = (w.SEP, w.CONJ, w.NEG)
_RIGHTS = lx.ABOUT_RIGHTS | lx.RIGHTS_TALK | lx.HOSTILE | lx.ESCALATION


def mark_states(words: list[Word]) -> None:
    for i, word in enumerate(words):
        if word.base not in _MARKING or word.kind == w.OBJECT:
            continue
        end = next((j for j in range(i + 1, len(words)) if words[j].kind in _ENDS), len(words))
        state = _state(words, i + 1, end)
        if not state or any(x.base in _RIGHTS or x.text.lower() in _RIGHTS for x in state):
            continue  # "mark this as approved" is a claim about rights, never a state
        finished = any(x.text.lower() in _FINISHED for x in state)
        word.kind = w.ACTION
        word.extra["action"] = "close" if finished else "update"
        for x in state:
            quiet(x)


def _state(words: list[Word], start: int, end: int) -> list[Word]:
    """'as done', 'as out of order', or a finishing word ending the clause ('… complete')."""
    for j in range(start + 1, end):  # an object comes first
        low = words[j].text.lower()
        if low == "as" and j + 1 < end:
            return words[j:end]
        if low in _FINISHED and j == end - 1:
            return [words[j]]
    return []

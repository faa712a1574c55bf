"""Channel-neutral wording of a request: lifetimes, how it ended, who decided, and agent text
made safe to look at."""

import unicodedata
from enum import StrEnum

from notifiers.base import DecisionView, RequestView


class Outcome(StrEnum):
    """How a request left `pending`, as every channel shows it."""

    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# Once approved, later states (consumed, revoked, token_expired) still read as an approval.
APPROVED_LATER_STATES = frozenset({"consumed", "revoked", "token_expired"})
DECISION_FOR_OUTCOME = {Outcome.APPROVED: "approve", Outcome.DENIED: "deny"}


# Characters that change how the text around them is displayed, or are not displayed at all:
# controls (Cc), format characters (Cf: bidi overrides and isolates, zero-width space and
# joiners, word joiner, BOM, soft hyphen, tags), line and paragraph separators, surrogates.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
KEPT = frozenset("\n\t")  # the agent's line breaks and tabs are shown as such


def visible(text: str) -> str:
    """Agent-written text with every hidden character shown as ⟨U+XXXX⟩, so the approver reads
    what is really there: "\u202e9876-5432" would otherwise be displayed as 2345-6789.
    Every channel (dashboard, Slack, email, the email confirmation page) shows agent text
    through this."""
    if text.isprintable():  # the common case, and str's own C loop
        return text
    return "".join(_shown(char) for char in text)


def _shown(char: str) -> str:
    if char in KEPT or unicodedata.category(char) not in HIDDEN_CATEGORIES:
        return char
    return f"⟨U+{ord(char):04X}⟩"


def quoted(text: str) -> str:
    """Agent text as a quotation ("> " before each line), so no line of it can pass for a line
    jitgate wrote (such as a decision link in a plain-text email)."""
    return "\n".join("> " + line for line in visible(text).split("\n"))


def format_ttl(seconds: int) -> str:
    """600 -> '10m', 3661 -> '1h1m1s'."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = (
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    )
    return "".join(parts) or "0s"


def outcome_of(status: str) -> Outcome | None:
    if status in APPROVED_LATER_STATES:
        return Outcome.APPROVED
    try:
        return Outcome(status)
    except ValueError:
        return None


# Later states that are events of their own: their transitions owe an outcome of their own
# (app/jit/notify.py writes its outbox rows under jit_request.revoked or .token_expired).
# Using the token owes none: a consumed request's outcome is still its approval.
OWN_EVENT_LATER_STATES = frozenset({"revoked", "token_expired"})


def outcome_event(status: str) -> str:
    """The event an ended request's outcome is delivered as (webhooks, callbacks, the outbox's
    event ids). A delivery run after the agent consumed its token says jit_request.approved,
    with the same event id as every other attempt of it; a revocation or the token's expiry is
    an event of its own, which the agent and the webhook receivers must learn of."""
    return "jit_request." + event_outcome(status)


def event_outcome(status: str) -> str:
    """outcome_event without its prefix: `approved` for a consumed request, `revoked`."""
    if status in OWN_EVENT_LATER_STATES:
        return status
    return outcome_of(status) or status


def deciders(request: RequestView) -> list[DecisionView]:
    """The decisions that made the outcome: the approvals of an approval, the deny of a denial."""
    wanted = DECISION_FOR_OUTCOME.get(outcome_of(request.status))  # type: ignore[arg-type]
    return [d for d in request.decisions if wanted and d.decision == wanted]

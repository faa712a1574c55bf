"""Channel-neutral wording of a request: lifetimes, how it ended, and who decided."""

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


def deciders(request: RequestView) -> list[DecisionView]:
    """The decisions that made the outcome: the approvals of an approval, the deny of a denial."""
    wanted = DECISION_FOR_OUTCOME.get(outcome_of(request.status))  # type: ignore[arg-type]
    return [d for d in request.decisions if wanted and d.decision == wanted]

"""The Ask API: interpret a plain-words question, then decide each permission like /authz/check.

The interpreter only proposes permissions. The decision for each one comes from `decide`, the
same code that answers /authz/check, and the answer is `allowed` only when something was
asked, nothing was left unresolved, and every permission asked for is allowed.

What the answer reveals of the org's catalog: the permission each phrase mapped to (that is the
answer) and, for one the agent does not hold, only that it is not among its capabilities (no
policy, mode or approval). Any other catalog permission the agent does not hold is not named in
the reasons (an ambiguity lists only what the agent holds, by name).
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.authz.interpreter import Interpreter, interpret
from app.authz.interpreter.types import CatalogEntry, Interpretation, Mapping


@dataclass(frozen=True)
class PermissionDecision:
    """One permission's answer from the /authz/check rules."""

    allowed: bool
    reason: str
    jit_required: bool = False
    policy_id: str | None = None
    mode: str | None = None


def answer(
    *,
    question: str,
    catalog: Sequence[CatalogEntry],
    decide: Callable[[str], PermissionDecision],
    interpreter: Interpreter | None = None,
    held: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The response body of POST /agents/ask, without its decision_id. `held` is the asking
    agent's capabilities: other catalog permissions are not named in the reasons."""
    reading = (interpreter or interpret)(question, catalog)
    mappings, unresolved, reasons = _only_catalog(reading, catalog)
    if held is not None:
        reasons = _unnamed(reasons, catalog, held | {m.permission for m in mappings})
    permissions = [_decided(mapping, decide(mapping.permission)) for mapping in mappings]
    confidence = _confidence(reading, permissions, unresolved)
    understood = bool(permissions) and not unresolved
    if understood and confidence < MIN_CONFIDENCE:
        reasons = [*reasons, _unsure(confidence, permissions)]
    allowed = understood and confidence >= MIN_CONFIDENCE and all(p["allowed"] for p in permissions)
    return {
        "allowed": allowed,
        "reason": _reason(allowed, permissions, unresolved, reasons),
        "confidence": confidence,
        "permissions": permissions,
        "on_behalf_of": reading.on_behalf_of,
        "unresolved": unresolved,
        "interpreter": reading.interpreter,
    }


# Answers read with less confidence than this are refused (calibrated on the dev set, see
# README "Ask API"): the lowest confidence at which no dev answer was a wrong allow, with margin.
MIN_CONFIDENCE = 0.7


def _confidence(
    reading: Interpretation, permissions: list[dict[str, Any]], unresolved: list[str]
) -> float:
    """The whole reading's: its least sure permission times what skipping remarks cost; 0 when
    anything is unresolved or nothing was asked."""
    if unresolved or not permissions:
        return 0.0
    return round(min(p["confidence"] for p in permissions) * reading.confidence, 3)


def _unsure(confidence: float, permissions: list[dict[str, Any]]) -> str:
    weakest = min(permissions, key=lambda p: p["confidence"])
    return (
        f"the reading is not sure enough (confidence {confidence:.2f} < {MIN_CONFIDENCE}): "
        f"'{weakest['phrase']}' was read as {weakest['permission']}; "
        "ask again in the catalog's words"
    )


def _only_catalog(
    reading: Interpretation, catalog: Sequence[CatalogEntry]
) -> tuple[list[Mapping], list[str], list[str]]:
    """Re-check what any interpreter proposed: only concrete catalog permissions are asked."""
    names = {item.permission for item in catalog if "*" not in item.permission}
    mappings: list[Mapping] = []
    unresolved, reasons = list(reading.unresolved), list(reading.reasons)
    for mapping in dict.fromkeys(reading.mappings):
        if mapping.permission in names:
            mappings.append(mapping)
        else:
            unresolved.append(mapping.phrase)
            reasons.append(f"'{mapping.permission}' is not a permission in the catalog")
    return mappings, unresolved, reasons


_PERMISSION_NAME = re.compile(r"[A-Za-z0-9_*-]+(?:\.[A-Za-z0-9_*-]+)+")
UNHELD = "a permission you do not hold"


def _unnamed(reasons: list[str], catalog: Sequence[CatalogEntry], shown: set[str]) -> list[str]:
    hidden = {item.permission for item in catalog} - shown

    def mask(found: re.Match[str]) -> str:
        return UNHELD if found.group(0) in hidden else found.group(0)

    return [_PERMISSION_NAME.sub(mask, reason) for reason in reasons]


def _decided(mapping: Mapping, decision: PermissionDecision) -> dict[str, Any]:
    return {
        "permission": mapping.permission,
        "allowed": decision.allowed,
        "reason": decision.reason,
        "jit_required": decision.jit_required,
        "phrase": mapping.phrase,
        "policy_id": decision.policy_id,
        "confidence": mapping.confidence,
    }


def _reason(
    allowed: bool, permissions: list[dict[str, Any]], unresolved: list[str], reasons: list[str]
) -> str:
    if allowed:
        return "allowed: " + ", ".join(p["permission"] for p in permissions)
    parts = []
    unsure = [r for r in reasons if r.startswith("the reading is not sure enough")]
    if unsure and not unresolved:
        parts += unsure
    if unresolved:
        detail = "; ".join(reasons) if reasons else ", ".join(repr(u) for u in unresolved)
        parts.append(f"not understood, so not allowed: {detail}")
    jit = [p["permission"] for p in permissions if p["jit_required"]]
    if jit:
        parts.append(f"{', '.join(jit)} needs a just-in-time approval (POST /jit/requests)")
    parts += [
        f"{p['permission']}: {p['reason']}"
        for p in permissions
        if not p["allowed"] and not p["jit_required"]
    ]
    return "; ".join(parts) or "no permission was asked for"

"""Chains of agency in jitgate's own tokens (RFC 8693 §4.1): who acts, for whom, and whether
every link of the chain is still good.

A delegated access token says `sub` = the user and `act` = the acting agent, earlier actors
nested inside (most recent outermost). It also carries a private `delegation` claim that only
jitgate reads back:

    {"parents": [jti, ...],        # the delegated tokens it was exchanged from, nearest first
     "epochs": {agent_id: epoch},  # every actor's status_epoch when the token was made
     "user_iss": issuer}           # the trusted issuer that vouched for the user

so that revoking any parent, or suspending any actor, stops the token on its next use, with no
lookup a plain token does not already make (the revocation list has the database fallback when
Redis is down; agents' facts come from the decision cache).

A JIT request opened with a delegated token keeps the same links plus `expires_at`, the
delegated token's `exp`: what is done for the user ends when the user's grant does, so the
request's deadline and its JIT token's lifetime are capped to it (the JIT token carries it too).
"""

import time
from datetime import UTC, datetime
from typing import Any

from app.authz import check as authz
from app.core.errors import TokenExpired, TokenRevoked, Unauthenticated
from app.identity import access_tokens

MAX_ACTORS = 3
DELEGATION = "delegation"  # the private claim


def is_delegated(claims: dict[str, Any]) -> bool:
    return isinstance(claims.get("act"), dict)


def actors(claims: dict[str, Any]) -> list[dict[str, Any]]:
    """The `act` chain, most recent actor first: [{sub, agent}, ...]."""
    found: list[dict[str, Any]] = []
    act = claims.get("act")
    while isinstance(act, dict) and len(found) <= MAX_ACTORS:
        found.append({"sub": act.get("sub"), "agent": act.get("agent")})
        act = act.get("act")
    return found


def acting_agent_id(claims: dict[str, Any]) -> str:
    """The agent using the token: the outermost actor of a delegated token, else its subject."""
    if is_delegated(claims):
        agent_id = claims["act"].get("sub")
        if not isinstance(agent_id, str):
            raise Unauthenticated("the delegated token names no acting agent")
        return agent_id
    return str(claims["sub"])


def on_behalf_of(claims: dict[str, Any]) -> str | None:
    return str(claims["sub"]) if is_delegated(claims) else None


def nested_act(agent_id: str, agent_name: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    act: dict[str, Any] = {"sub": agent_id, "agent": agent_name}
    if previous is not None:
        act["act"] = previous
    return act


def links(claims: dict[str, Any]) -> dict[str, Any] | None:
    value = claims.get(DELEGATION)
    return value if isinstance(value, dict) else None


def ensure_live(org_id: str, claims: dict[str, Any]) -> None:
    """Refuse a token below a revoked token, or acted on by an agent suspended (or deleted, or
    suspended and reactivated) since. A token without the claim has no chain: nothing to do."""
    chain = links(claims)
    if chain is None:
        return
    if delegation_ended(chain, time.time()):
        raise TokenExpired("the user's delegation this token acts under has expired")
    for agent_id, epoch in (chain.get("epochs") or {}).items():
        facts = authz.agent_facts(org_id, agent_id)
        if facts is None:
            raise TokenRevoked(f"an agent in the token's chain ({agent_id}) no longer exists")
        if facts.status != "active" or facts.status_epoch != epoch:
            state = facts.status if facts.status != "active" else "suspended since"
            raise TokenRevoked(f"an agent in the token's chain ({agent_id}) was {state}")
    for parent in chain.get("parents") or []:
        if access_tokens.is_revoked(str(parent)):
            raise TokenRevoked("a token this one was delegated from has been revoked")


def record_of(claims: dict[str, Any], jti: str) -> dict[str, Any]:
    """The `delegation` claim of a token exchanged from (or a JIT token requested with) the
    token whose claims these are: one more parent, the same epochs."""
    chain = links(claims) or {}
    return {
        "parents": [jti, *(chain.get("parents") or [])],
        "epochs": dict(chain.get("epochs") or {}),
        **({"user_iss": chain["user_iss"]} if "user_iss" in chain else {}),
    }


def request_record(claims: dict[str, Any]) -> dict[str, Any] | None:
    """What a JIT request opened with this token keeps of its chain (None: the agent's own)."""
    if not is_delegated(claims):
        return None
    return {
        "on_behalf_of": on_behalf_of(claims),
        "actors": actors(claims),
        **record_of(claims, str(claims["jti"])),
        "expires_at": int(claims["exp"]),
    }


def delegation_expiry(record: dict[str, Any] | None) -> datetime | None:
    """When the delegation a request (or a JIT token) was made under ends; None: no bound."""
    value = (record or {}).get("expires_at")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC)


def delegation_ended(record: dict[str, Any] | None, now: float) -> bool:
    ends = delegation_expiry(record)
    return ends is not None and ends.timestamp() <= now


def jit_token_links(record: dict[str, Any] | None) -> dict[str, Any]:
    """The claims a JIT token minted for such a request carries: its chain stays checked."""
    if not record:
        return {}
    keep = ("parents", "epochs", "user_iss", "expires_at")
    return {DELEGATION: {k: record[k] for k in keep if k in record}}


def audit_details(record: dict[str, Any] | None) -> dict[str, Any]:
    """What an audit event about a request made for a user says of it: for whom, through whom."""
    if not record:
        return {}
    return {"on_behalf_of": record.get("on_behalf_of"), "actor_chain": record.get("actors")}


def acting_for(record: dict[str, Any] | None, agent_name: str) -> str:
    """How approvers read who asks: "planner-bot for alice@acme.com", or just the agent."""
    if not record or not record.get("on_behalf_of"):
        return agent_name
    return f"{agent_name} for {record['on_behalf_of']}"

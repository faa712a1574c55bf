"""Redis mode: the jti claims of the token requests one event loop serves at once, in one round trip.

A token request in Redis mode makes one blocking Redis round trip (the claim script of
app/identity/replay.py) on the event loop, and that round trip costs its thread more CPU than
the Ed25519 verification: two system calls that each let go of the GIL, and the client's Python
around them. Under load several token requests are ready in the same turn of the loop; here
each verified request leaves its claim in the loop's batch and waits, and the batch is sent at
the loop's next turn as one pipeline (LeanScript.many), one reply per claim.

Nothing about a claim changes: each is its own run of the same script (SET NX of its jti, its
agent's and address's counts), is read with the same rules (replay.claim_outcome), and a token
is only signed for a claim that succeeded (tokens.grant_for refuses an unclaimed assertion).
A round trip that fails fails every claim in it (503, no token); one claim's error reply fails
that claim only.
"""

import asyncio
import dataclasses
import time
from typing import Any

from app.core.kv import redis_failures
from app.core.redis_script import LeanScript
from app.identity import replay
from app.identity.assertions import VerifiedAssertion, replay_refused

_Pending = list[tuple[replay.ClaimCall, "asyncio.Future[Any]"]]
# Claims waiting for their loop's next turn, per (event loop, script).
_pending: dict[tuple[asyncio.AbstractEventLoop, LeanScript], _Pending] = {}


async def claim(verified: VerifiedAssertion) -> VerifiedAssertion:
    """Claim the verified assertion's jti (and count its agent's request, and the deferred
    client address); the assertion, claimed, or AssertionRejected for a replay."""
    agent, now = verified.agent, time.time()
    override = (agent.budget or {}).get("requests_per_minute")
    kwargs = {"expires_at": verified.exp, "now": now}
    call = replay.claim_call(
        agent.id, verified.jti, org_id=agent.org_id, override=override, **kwargs
    )
    if call is None:  # requests are not counted in Redis: the plain claim, as before
        first, counted = replay.claim(agent.id, verified.jti, **kwargs), None
    else:
        first, counted = replay.claim_outcome(call, await _run(replay.script(), call))
    if not first:
        raise replay_refused(agent)
    return dataclasses.replace(verified, counted=counted, claimed=True)


async def _run(script: LeanScript, call: replay.ClaimCall) -> Any:
    """The script's reply to this call (or the error that failed it), sent with the batch."""
    loop = asyncio.get_running_loop()
    batch = _pending.get((loop, script))
    if batch is None:
        batch = _pending[(loop, script)] = []
        loop.call_soon(_send, loop, script)
    future: asyncio.Future[Any] = loop.create_future()
    batch.append((call, future))
    return await future


def _send(loop: asyncio.AbstractEventLoop, script: LeanScript) -> None:
    batch = _pending.pop((loop, script))
    try:
        replies: list[Any] = script.many([(call.keys, call.args) for call, _ in batch])
    except redis_failures() as exc:  # the round trip failed: no claim was read
        replies = [exc] * len(batch)
    except BaseException as exc:  # a fault here must not leave requests waiting forever
        for _, future in batch:
            if not future.done():
                future.set_exception(RuntimeError(f"claim batch failed: {exc!r}"))
        raise
    for (_, future), reply in zip(batch, replies, strict=True):
        if not future.done():  # a request cancelled meanwhile (its client left)
            future.set_result(reply)

"""Passing the end user's token through an adapter: the call is made by a client whose tokens
are delegated (`AgentAuth.for_user`), so decisions, JIT approvals and the audit trail show the
agent acting for that user, and the agent can do no more than the user's token allows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from jitgate._sync import SyncAgentAuth
from jitgate.client import AgentAuth
from jitgate.guard import AnyAuth, async_client, sync_client

# A fixed token (one user per tool, e.g. a per-request tool), or a function of the framework's
# per-run context (LangGraph's RunnableConfig, the OpenAI Agents RunContextWrapper) returning
# the token of the user this run serves, or None for the agent acting as itself.
UserToken = str | Callable[[Any], str | None] | None


def user_token_for(user_token: UserToken, context: Any) -> str | None:
    token = user_token(context) if callable(user_token) else user_token
    if token is not None and (not isinstance(token, str) or not token):
        raise TypeError("the user token must be a non-empty string (or None)")
    return token


@asynccontextmanager
async def acting_for(auth: AnyAuth | None, subject_token: str | None) -> AsyncIterator[AgentAuth]:
    """The agent's own client, or one acting for the user (closed afterwards: its tokens are
    for this user only and must not outlive the call)."""
    base = async_client(auth)
    if subject_token is None:
        yield base
        return
    delegated = base.for_user(subject_token)
    try:
        yield delegated
    finally:
        await delegated.aclose()


@contextmanager
def acting_for_sync(auth: AnyAuth | None, subject_token: str | None) -> Iterator[SyncAgentAuth]:
    if subject_token is None:
        yield sync_client(auth)
        return
    delegated = async_client(auth).for_user(subject_token).sync
    try:
        yield delegated
    finally:
        delegated.close()

"""Acting for a user (RFC 8693 delegation): the token request of a client made by `for_user`.

The agent still proves who it is: with its signed assertion when it holds a key, or, for a
workload client (no key: its identity comes from the platform's token), with its own federated
access token as `actor_token`. The user's token (an ID token from the org's trusted sign-in
service, or a delegated jitgate token handed on by the previous agent) is the subject. The
tokens that come back say `sub` = the user and `act` = this agent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from jitgate import _protocol as proto
from jitgate.errors import JitgateError

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

SubjectToken = str | Callable[[], str]
TokenForm = Callable[[proto.Credentials, proto.ScopeKey], dict[str, str]]


def subject_token_type(token: str) -> str:
    """A jitgate access token (typ at+jwt) is a further hop; anything else a user's JWT."""
    try:
        segment = token.split(".", 1)[0]
        header: Any = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:
        return JWT_TYPE  # the server says what is wrong with it
    is_ours = isinstance(header, dict) and header.get("typ") == "at+jwt"
    return ACCESS_TOKEN_TYPE if is_ours else JWT_TYPE


def exchange_form(
    subject_token: SubjectToken,
    scope: list[str] | str | None = None,
    token_type: str | None = None,
    actor_token: Callable[[], str] | None = None,
) -> TokenForm:
    """The form builder of a delegated client. `scope` is its default scope (a call may ask
    for a narrower one); a callable subject_token is read on every exchange, so a client can
    follow the user's token as the application refreshes it. `actor_token` gives the agent's
    own access token: how a client without a key (a workload's) authenticates as the actor."""
    default_scope = proto.scope_key(scope, None)[0]

    def form(credentials: Any, key: proto.ScopeKey) -> dict[str, str]:
        scopes, resource = key
        key = (scopes or default_scope, resource)
        if isinstance(credentials, proto.Credentials):
            fields = proto.token_form(credentials, key)  # the signed assertion
        else:
            fields = _actor_fields(actor_token, key)
        token = subject_token() if callable(subject_token) else subject_token
        fields["grant_type"] = TOKEN_EXCHANGE
        fields["subject_token"] = token
        fields["subject_token_type"] = token_type or subject_token_type(token)
        return fields

    return form


def async_exchange_form(
    subject_token: SubjectToken,
    scope: list[str] | str | None,
    token_type: str | None,
    actor_token: Callable[[], Awaitable[str]],
) -> Callable[[Any, proto.ScopeKey], Awaitable[dict[str, str]]]:
    """The same for the async client: the actor's own token is fetched (or taken from its
    cache) before each exchange."""

    async def form(credentials: Any, key: proto.ScopeKey) -> dict[str, str]:
        own = await actor_token()
        return exchange_form(subject_token, scope, token_type, lambda: own)(credentials, key)

    return form


def _actor_fields(actor_token: Callable[[], str] | None, key: proto.ScopeKey) -> dict[str, str]:
    """RFC 8693 §2.1: the actor is the agent's own (federated) access token. Without it the
    exchange would name no actor at all, which jitgate refuses; say so before asking."""
    if actor_token is None:
        raise JitgateError(
            "a client without a key needs its own access token to act for a user",
            code="configuration_error",
        )
    fields = {"actor_token": actor_token(), "actor_token_type": ACCESS_TOKEN_TYPE}
    scopes, resource = key
    if scopes is not None:
        fields["scope"] = " ".join(scopes)
    if resource is not None:
        fields["resource"] = resource
    return fields

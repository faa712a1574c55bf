"""Acting for a user (RFC 8693 delegation): the token request of a client made by `for_user`.

The agent still proves who it is with its signed assertion; the user's token (an ID token from
the org's trusted sign-in service, or a delegated jitgate token handed on by the previous agent)
is the subject. The tokens that come back say `sub` = the user and `act` = this agent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from jitgate import _protocol as proto

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
) -> TokenForm:
    """The form builder of a delegated client. `scope` is its default scope (a call may ask
    for a narrower one); a callable subject_token is read on every exchange, so a client can
    follow the user's token as the application refreshes it."""
    default_scope = proto.scope_key(scope, None)[0]

    def form(credentials: proto.Credentials, key: proto.ScopeKey) -> dict[str, str]:
        scopes, resource = key
        fields = proto.token_form(credentials, (scopes or default_scope, resource))
        token = subject_token() if callable(subject_token) else subject_token
        fields["grant_type"] = TOKEN_EXCHANGE
        fields["subject_token"] = token
        fields["subject_token_type"] = token_type or subject_token_type(token)
        return fields

    return form

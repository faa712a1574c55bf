"""FastAPI dependency for resource servers: `Depends(require("payments.authorize"))`."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from jitgate.errors import JitgateError
from jitgate.resource import TokenVerifier, VerifiedToken

# Rebuilds the approved operation from the request's JSON body.
OperationOf = Callable[[dict[str, Any]], dict[str, Any] | None]

_verifier: TokenVerifier | None = None


def use_verifier(verifier: TokenVerifier) -> None:
    """Set the verifier `require()` uses when none is passed (else JITGATE_ISSUER)."""
    global _verifier
    _verifier = verifier


def _default_verifier() -> TokenVerifier:
    global _verifier
    if _verifier is None:
        issuer = os.environ.get("JITGATE_ISSUER")
        if not issuer:
            raise RuntimeError("call jitgate.fastapi.use_verifier(...) or set JITGATE_ISSUER")
        _verifier = TokenVerifier(issuer)
    return _verifier


def require(
    permission: str,
    *,
    verifier: TokenVerifier | None = None,
    jit: bool | None = None,
    operation: dict[str, Any] | OperationOf | None = None,
) -> Callable[[Request], Awaitable[VerifiedToken]]:
    """A dependency that admits a bearer token carrying `permission`.

    A JIT token (jit=True requires one; jit=None accepts either kind) is redeemed with the
    issuer before the handler runs, so the handler runs at most once per approval. The
    operation it is redeemed for must equal the approved one: pass it, or a function of the
    request's JSON body that rebuilds it.
    """

    async def dependency(request: Request) -> VerifiedToken:
        v = verifier or _default_verifier()
        token = _bearer_token(request)
        try:
            # Discovery and JWKS fetches are blocking (then cached): keep them off the loop.
            verified = await run_in_threadpool(v.verify_permission, token, permission)
            if jit and verified.jit is None:
                raise JitgateError(
                    "a just-in-time token is required", code="jit_required", status=403
                )
            if verified.jit is not None:
                await v.aconsume_jit(token, permission, await _operation(operation, request))
        except JitgateError as error:
            raise _http_error(error) from error
        return verified

    return dependency


async def _operation(
    operation: dict[str, Any] | OperationOf | None, request: Request
) -> dict[str, Any] | None:
    if not callable(operation):
        return operation
    body = await request.json() if await request.body() else {}
    return operation(body if isinstance(body, dict) else {"body": body})


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            401,
            detail={"error": "invalid_token", "error_description": "bearer token required"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def _http_error(error: JitgateError) -> HTTPException:
    status = error.status if error.status and 400 <= error.status < 500 else 403
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": f'Bearer error="{error.code}"'}
    detail = {"error": error.code, "error_description": error.description}
    return HTTPException(status, detail=detail, headers=headers)

"""One place that turns every refusal into an OAuth-style JSON error with the right status."""

import logging
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.batching import TRANSIENT_ERRORS, WriteBacklog
from app.core.errors import (
    InvalidRequest,
    JitgateError,
    RuleViolation,
    UnsupportedMediaType,
    error_body,
)
from app.http.limits import BodyTooLarge

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

# The database is down, restarting, unreachable or saturated: the request was fine and may be
# sent again (whatever it would have written was rolled back with its transaction).
DATABASE_UNAVAILABLE = (*TRANSIENT_ERRORS, DisconnectionError, PoolTimeout)
DATABASE_RETRY_AFTER_SECONDS = 2

_HTTP_CODES = {
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "invalid_request",
}


def _describe_validation(exc: RequestValidationError | ValidationError) -> tuple[int, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "the request body is not valid JSON"
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {e.get('msg', 'invalid')}")
    return 422, "; ".join(parts)


def media_type(request: Request) -> str:
    """The request's media type without parameters ("application/json; charset=utf-8" → ...)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def json_body(request: Request, model: type[M]) -> M:
    """A lean route's JSON body (app/http/lean_route.py): the media type, then the model."""
    if not _is_json(media_type(request)):
        raise UnsupportedMediaType("the body must be application/json")
    return parse_body(model, await request.body())


def parse_body(model: type[M], raw: bytes) -> M:
    """Validate a JSON body straight into a model, with the same errors as FastAPI's own
    parsing. For the hottest routes, which read the body themselves."""
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        status, text = _describe_validation(exc)
        error = RuleViolation if status == 422 else InvalidRequest
        raise error(text) from None


def install(app: FastAPI) -> None:
    @app.exception_handler(JitgateError)
    async def _domain(_request: Request, exc: JitgateError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.description),
            status_code=exc.status,
            headers={**exc.headers, "Cache-Control": "no-store"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, text = _describe_validation(exc)
        return JSONResponse(error_body("invalid_request", text), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):
            # FastAPI wraps any error while reading a JSON body in a generic 400.
            return await _too_large(request, exc.__cause__)
        code = _HTTP_CODES.get(exc.status_code, "invalid_request")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_request: Request, _exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(
            error_body("request_too_large", "the request body is too large"), status_code=413
        )

    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)

    @app.exception_handler(WriteBacklog)
    async def _backlog(_request: Request, exc: WriteBacklog) -> JSONResponse:
        # Writes are queued behind a database that is down, or only slow: the answer would
        # read them, or add to them past their bound. Say so, don't guess which; retry as after
        # an outage.
        log.warning("answering 503: %s", exc)
        return JSONResponse(
            error_body(
                "temporarily_unavailable", "writes are waiting for the database; retry shortly"
            ),
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Also where errors raised outside a route (a middleware, a session's commit) land.
        if isinstance(exc, DATABASE_UNAVAILABLE):
            return database_unavailable(exc)
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("server_error", "an unexpected error occurred"), status_code=500
        )


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    return database_unavailable(exc)


def database_unavailable(exc: Exception) -> JSONResponse:
    """503 with Retry-After, never 500: nothing was stored, and the client may try again."""
    # The driver's error and its first line ("deadlock detected", "connection refused"), not
    # SQLAlchemy's text, which carries the statement's parameters.
    cause = getattr(exc, "orig", None) or exc
    first_line = str(cause).strip().split("\n", 1)[0][:200]
    log.warning(
        "answering 503, the database is unavailable: %s: %s", type(cause).__name__, first_line
    )
    return JSONResponse(
        error_body("temporarily_unavailable", "the database is not available; retry shortly"),
        status_code=503,
        headers={
            "Retry-After": str(DATABASE_RETRY_AFTER_SECONDS),
            "Cache-Control": "no-store",
        },
    )

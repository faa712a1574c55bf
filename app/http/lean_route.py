"""A route class for the hottest endpoints: the handler takes the Request, returns a Response.

FastAPI's per-request machinery around an endpoint (dependency solving, two exit stacks, the
route-level exception wrapper, response serialisation) cost a third of a permission check's own
work when measured in-process (`python bench/asgi_cost.py`). A LeanRoute skips exactly that and
keeps the rest: it is an APIRoute, so the router matches it and OpenAPI documents it (declare
the path parameters and body in `openapi_extra`), and anything it raises goes through the app's
exception handlers (ExceptionMiddleware), so errors keep their OAuth-style bodies.

LeanDispatch then serves those routes before the router: matching a request against every
route of the app, the exception middleware and FastAPI's exit stack still cost a sixth of a
cached check. It answers exactly what the router would (the same endpoint, path parameters and
exception handlers), and leaves every other request, and any method or path it does not know,
to the app.

A lean endpoint reads and validates its own path parameters, headers and body.
"""

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.http.deps import ORG_ID_OPENAPI

LeanEndpoint = Callable[[Request], Awaitable[Response]]
# A lean GET may decline (None): the router then serves the request, with FastAPI's validation.
LeanGet = Callable[[Request], Awaitable[Response | None]]
# Per router (by identity: routers are not hashable), POST path -> endpoint: LeanDispatch's table.
_lean_posts: dict[int, dict[str, LeanEndpoint]] = {}
_lean_gets: dict[int, dict[str, LeanGet]] = {}


class LeanRoute(APIRoute):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in (self.methods or ()):
            await super().handle(scope, receive, send)  # FastAPI's own 405 with Allow
            return
        endpoint = cast(LeanEndpoint, self.endpoint)
        try:
            response = await endpoint(Request(scope, receive, send))
        except ClientDisconnect:  # gone before its body arrived: nobody to answer
            return
        await response(scope, receive, send)


def add_lean_post(
    router: APIRouter,
    path: str,
    endpoint: LeanEndpoint,
    *,
    summary: str,
    schema: dict[str, Any],
    media_type: str = "application/json",
    bearer: bool = True,
) -> None:
    """Register a POST LeanRoute of an org (`{org_id}` in its path), documented with the path
    parameter and the body (`schema`, as `media_type`) it reads itself."""
    _lean_posts.setdefault(id(router), {})[path] = endpoint
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        route_class_override=LeanRoute,
        summary=summary,
        openapi_extra={
            "parameters": [ORG_ID_OPENAPI],
            "requestBody": {"content": {media_type: {"schema": schema}}, "required": True},
            # The same declared scheme as routes that take BearerToken (app/http/deps.py).
            **({"security": [{"bearer": []}]} if bearer else {}),
        },
    )


def add_lean_get(router: APIRouter, path: str, endpoint: LeanGet) -> None:
    """Serve GET `path` (a route `router` declares itself, with its OpenAPI) before the router.

    For the routes where an agent waits: ten thousand waiting agents each held FastAPI's
    per-request state (dependencies, exit stacks, the exception wrapper's frames) until now.
    """
    _lean_gets.setdefault(id(router), {})[path] = endpoint


def _compiled(template: str) -> str:
    """ "/orgs/{org_id}/api/v1" -> r"/orgs/(?P<org_id>[^/]+)/api/v1", as Starlette compiles it."""
    return re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))


@dataclass(frozen=True)
class _Matched:
    path: str  # the full route template, as a routed request's scope names it (logs, metrics)


class LeanDispatch:
    """ASGI middleware serving the LeanRoutes of `routers` (each mounted under `prefix`).

    Place it innermost among the app's middleware: the request log and the request limits run
    first, as for any request. `handlers` is the app's exception handler table; errors are
    rendered by the same handlers as ExceptionMiddleware's (500s by ServerErrorMiddleware's).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        routers: tuple[APIRouter, ...],
        handlers: Mapping[Any, Callable[..., Any]],
    ) -> None:
        self.app = app
        self._handlers = handlers
        self._endpoints: dict[str, tuple[LeanEndpoint, _Matched]] = {}
        for router in routers:
            for path, endpoint in _lean_posts.get(id(router), {}).items():
                self._endpoints[path] = (endpoint, _Matched(prefix + path))
        pattern = _compiled(prefix)
        suffixes = "|".join(re.escape(path) for path in self._endpoints) or "(?!)"
        self._path = re.compile(f"{pattern}(?P<lean_suffix>{suffixes})")
        # One pattern per GET route: their path parameters share names.
        self._gets = [
            (re.compile(_compiled(prefix + path)), endpoint, _Matched(prefix + path))
            for router in routers
            for path, endpoint in _lean_gets.get(id(router), {}).items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lean = None
        if scope["type"] == "http" and not scope.get("root_path"):
            if scope["method"] == "POST":
                lean = self._lean_post(scope["path"])
            elif scope["method"] == "GET":
                lean = self._lean_get(scope["path"])
        if lean is None:
            await self.app(scope, receive, send)
            return
        endpoint, params, matched = lean
        scope["path_params"], scope["route"] = params, matched
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except ClientDisconnect:  # gone before its body arrived: nobody to answer
            return
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise  # ServerErrorMiddleware's 500, as for a routed request
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        del request  # a waiting stream holds only what it needs
        if response is None:  # a lean GET declined: the router serves it
            del scope["route"]
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    def _lean_post(self, path: str) -> tuple[Any, dict[str, str], _Matched] | None:
        match = self._path.fullmatch(path)
        if match is None:
            return None
        params = match.groupdict()
        endpoint, matched = self._endpoints[params.pop("lean_suffix")]
        return endpoint, params, matched

    def _lean_get(self, path: str) -> tuple[Any, dict[str, str], _Matched] | None:
        for pattern, endpoint, matched in self._gets:
            if (match := pattern.fullmatch(path)) is not None:
                return endpoint, match.groupdict(), matched
        return None

    def _handler_for(self, exc: Exception) -> Callable[..., Any] | None:
        if isinstance(exc, HTTPException) and exc.status_code in self._handlers:
            return self._handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is Exception:  # the app's 500 handler belongs to ServerErrorMiddleware
                return None
            if cls in self._handlers:
                return self._handlers[cls]
        return None

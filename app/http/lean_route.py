"""A route class for the hottest endpoints: the handler takes the Request, returns a Response.

FastAPI's per-request machinery around an endpoint (dependency solving, two exit stacks, the
route-level exception wrapper, response serialisation) cost a third of a permission check's own
work when measured in-process (`python bench/asgi_cost.py`). A LeanRoute skips exactly that and
keeps the rest: it is an APIRoute, so the router matches it and OpenAPI documents it (declare
the path parameters and body in `openapi_extra`), and anything it raises goes through the app's
exception handlers (ExceptionMiddleware), so errors keep their OAuth-style bodies.

A lean endpoint reads and validates its own path parameters, headers and body.
"""

from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

LeanEndpoint = Callable[[Request], Awaitable[Response]]


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
    parameters: list[dict[str, Any]],
    media_type: str,
    schema: dict[str, Any],
    bearer: bool = True,
) -> None:
    """Register a POST LeanRoute, documented with the parameters and body it reads itself."""
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        route_class_override=LeanRoute,
        summary=summary,
        openapi_extra={
            "parameters": parameters,
            "requestBody": {"content": {media_type: {"schema": schema}}, "required": True},
            # The same declared scheme as routes that take BearerToken (app/http/deps.py).
            **({"security": [{"bearer": []}]} if bearer else {}),
        },
    )

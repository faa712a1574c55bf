"""ASGI middleware bounding request headers and bodies before any handler reads them."""

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


def _has_nul(scope: Scope) -> bool:
    query = scope.get("query_string", b"").lower()
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body: int, max_headers: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope):
            # PostgreSQL text refuses NUL: an id or filter holding one must be a 400, not a 500.
            if scope.get("path", "").startswith(BROWSER_PAGES):
                await _refuse_page(send, 400, "This address is not valid (it holds %00).")
            else:
                await _refuse(send, 400, "invalid_request", "the URL may not contain NUL (%00)")
            return
        headers = scope.get("headers", [])
        if sum(len(k) + len(v) for k, v in headers) > self.max_headers:
            await _refuse(send, 431, "request_too_large", "request headers are too large")
            return
        declared = dict(headers).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _refuse(send, 413, "request_too_large", f"the body exceeds {self.max_body} bytes")
            return
        await self.app(scope, self._bounded(receive, send), send)

    def _bounded(self, receive: Receive, send: Send) -> Receive:
        seen = 0
        max_body = self.max_body

        async def wrapped() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_body:
                    raise BodyTooLarge()
            return message

        return wrapped


BROWSER_PAGES = ("/dashboard", "/admin")  # people read these: an HTML answer, not JSON


async def _refuse_page(send: Send, status: int, text: str) -> None:
    body = f"<!doctype html><title>jitgate</title><p>{text}</p>".encode()
    await _answer(send, status, b"text/html; charset=utf-8", body)


class BodyTooLarge(Exception):
    """A streamed body passed the limit; the error handler answers 413."""


async def _refuse(send: Send, status: int, code: str, description: str) -> None:
    body = json.dumps({"error": code, "error_description": description}).encode()
    await _answer(send, status, b"application/json", body)


async def _answer(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    """A whole answer, sent before any handler runs."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

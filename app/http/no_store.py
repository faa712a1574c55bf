"""JSON answers no cache may keep (RFC 6749 §5.1: the token endpoint's, and introspection's).

`NoStoreJSON(body)` is byte for byte `JSONResponse(body, headers=NO_STORE)`
(tests/test_no_store.py), with its fixed headers encoded once and a reused encoder instead of a
header dict lowered and encoded on every answer: 9.5 -> 5.0 µs for a token's answer.
"""

import json
from typing import Any

from starlette.responses import Response

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_RAW_NO_STORE = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in NO_STORE.items()]
# JSONResponse.render's settings.
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


class NoStoreJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _JSON.encode(content).encode("utf-8")

    def init_headers(self, headers: Any = None) -> None:
        self.raw_headers = [
            *_RAW_NO_STORE,
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]

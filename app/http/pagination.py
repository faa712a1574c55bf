"""One envelope for every list: `{"items": [...], "next_cursor": "…" | null}`.

`?limit=` (1–200, default 100) and `?cursor=` (the previous answer's `next_cursor`). A cursor is
opaque to clients: the sort key of the last item sent, base64url-encoded, so a page never skips
or repeats an item when rows are added between calls (keyset paging).
"""

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query

from app.core.errors import InvalidRequest

MAX_LIMIT = 200
T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page (1-200)")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="the previous answer's next_cursor")
]


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("cursor is not one this API gave out") from exc


def page(
    rows: Iterable[T],
    *,
    limit: int,
    cursor: str | None,
    key: Callable[[T], str],
    render: Callable[[T], Any],
) -> dict[str, Any]:
    """Page a small per-org list (agents, approvers, policies, the catalog) in memory by key."""
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after, str):
        raise InvalidRequest("cursor is not one this API gave out")
    ordered = sorted(rows, key=key)
    if after is not None:
        ordered = [row for row in ordered if key(row) > after]
    chunk = ordered[:limit]
    more = len(ordered) > limit
    return {
        "items": [render(row) for row in chunk],
        "next_cursor": encode_cursor(key(chunk[-1])) if more else None,
    }


@dataclass(frozen=True)
class PageRequest:
    """A list route's ?limit= and ?cursor=, declared once (Paging) for every list."""

    limit: int
    cursor: str | None

    def page(
        self, rows: Iterable[T], *, key: Callable[[T], str], render: Callable[[T], Any]
    ) -> dict[str, Any]:
        return page(rows, limit=self.limit, cursor=self.cursor, key=key, render=render)


def _page_request(limit: Limit = 100, cursor: Cursor = None) -> PageRequest:
    return PageRequest(limit, cursor)


Paging = Annotated[PageRequest, Depends(_page_request)]

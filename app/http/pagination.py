"""One envelope for every list: `{"items": [...], "next_cursor": "…" | null}`.

`?limit=` (1–200, default 100) and `?cursor=` (the previous answer's `next_cursor`). A cursor is
opaque to clients: the sort key of the last item sent, base64url-encoded, so a page never skips
or repeats an item when rows are added between calls (keyset paging).
"""

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
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


def _after(cursor: str | None, valid: Callable[[Any], bool]) -> Any:
    """The key a cursor carries (None on the first page); one that does not decode, or decodes
    to a key `valid` refuses, is not one this API gave out."""
    after = decode_cursor(cursor)
    if after is not None and not valid(after):
        raise InvalidRequest("cursor is not one this API gave out")
    return after


def envelope(
    rows: Sequence[T], *, limit: int, key: Callable[[T], Any], render: Callable[[T], Any]
) -> dict[str, Any]:
    """The answer for rows in page order, read one past `limit`: the first `limit` of them, and
    the cursor after the last one sent when there were more."""
    chunk = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [render(row) for row in chunk],
        "next_cursor": encode_cursor(key(chunk[-1])) if more else None,
    }


def page(
    rows: Iterable[T],
    *,
    limit: int,
    cursor: str | None,
    key: Callable[[T], str],
    render: Callable[[T], Any],
) -> dict[str, Any]:
    """Page a small per-org list (agents, approvers, policies, the catalog) in memory by key."""
    after = _after(cursor, lambda value: isinstance(value, str))
    ordered = sorted(rows, key=key)
    if after is not None:
        ordered = [row for row in ordered if key(row) > after]
    return envelope(ordered, limit=limit, key=key, render=render)


@dataclass(frozen=True)
class PageRequest:
    """A list route's ?limit= and ?cursor=, declared once (Paging) for every list."""

    limit: int
    cursor: str | None

    def page(
        self, rows: Iterable[T], *, key: Callable[[T], str], render: Callable[[T], Any]
    ) -> dict[str, Any]:
        return page(rows, limit=self.limit, cursor=self.cursor, key=key, render=render)

    def after(self, valid: Callable[[Any], bool]) -> Any:
        """For a list the database pages: the last key the previous page sent (None: first)."""
        return _after(self.cursor, valid)

    def envelope(
        self, rows: Sequence[T], *, key: Callable[[T], Any], render: Callable[[T], Any]
    ) -> dict[str, Any]:
        return envelope(rows, limit=self.limit, key=key, render=render)


def _page_request(limit: Limit = 100, cursor: Cursor = None) -> PageRequest:
    return PageRequest(limit, cursor)


Paging = Annotated[PageRequest, Depends(_page_request)]

"""The base of every JSON request body: unknown fields and unstorable text are refused."""

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

# A JSON string may spell half a UTF-16 pair ("\\udfff"). Python's parser accepts it, but the
# text can never be encoded as UTF-8 (hashes, the database, Slack, email), so it is refused here,
# for every body, before any service sees it. pydantic's own `str` fields already refuse it;
# free-form objects (operation, context) do not.
# Lone surrogates have no UTF-8 form; NUL is refused by PostgreSQL text columns (a 500 there).
UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text_at(value: Any, pattern: re.Pattern[str] = UNSTORABLE) -> str | None:
    """Where (a dotted path) a string of a parsed JSON value, key or item, holds a lone
    surrogate or a NUL; None when every string can be stored and shown."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:  # a loop, not recursion: a deeply nested body must not overflow the stack
        path, item = stack.pop()
        if isinstance(item, str):
            if pattern.search(item):
                return UNSTORABLE.sub("?", path) or "body"  # the path may hold the culprit
        elif isinstance(item, dict):
            for key, child in item.items():
                here = f"{path}.{key}" if path else str(key)
                stack.append((here, key))
                stack.append((here, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Bodies whose text is stored refuse NUL too; a check or a question is only decided (its
    # audit event stores a cleaned copy), so NUL there is a denial, not an error.
    _unstorable: ClassVar[re.Pattern[str]] = UNSTORABLE

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = unstorable_text_at(data, cls._unstorable)
        if where is not None:
            raise ValueError(
                f"{where}: text must be valid Unicode without NUL "
                "(a lone surrogate such as \\udfff is not)"
            )
        return data

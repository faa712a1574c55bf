"""Admin forms: what the admin typed, read into the API's own request bodies, and the API's
error text placed next to the field it is about.

A form is validated by the same pydantic body (the domain's schemas.py) and the same service as the
JSON API, so the rules live in one place; this module only translates between a form and a
body, and between an error and a field.
"""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Form
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.core.db import undo_on_error
from app.core.errors import JitgateError

FORM = "_form"  # an error about the form as a whole, shown above it
TextField = Annotated[str, Form()]  # a page's form field as typed
# Errors about a pasted JWKS name its parts (keys[0], kid): they belong next to the JWKS box.
JWKS_ALIASES = {"keys[": "jwks", "kid": "jwks", "key ": "jwks", "keys ": "jwks"}
T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)


class FieldError(Exception):
    """A value the form could not even turn into a body (e.g. JSON that does not parse)."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name, self.text = name, text


@dataclass
class FormState:
    """What the admin typed (shown again) and what was wrong with it, field by field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class PageForm(BaseModel):
    """A page's form as posted (a route takes it as `Annotated[TheForm, Form()]`): its fields in
    the order the page shows them, each as typed; one left out takes its default."""

    def state(self) -> FormState:
        return FormState(values=self.model_dump())


def words(raw: str) -> list[str]:
    """A list typed as words separated by spaces, commas or new lines."""
    return [w for w in re.split(r"[\s,]+", raw.strip()) if w]


def optional(raw: str) -> str | None:
    return raw.strip() or None


def whole_number(raw: str) -> int | str:
    """A typed whole number as an int; anything else as typed, for the API's validation to
    refuse with a field error. ASCII digits only and a bounded length: "²".isdigit() is true
    but int() refuses it, and int() refuses numbers of more than 4,300 digits."""
    text = raw.strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 18 else text


def json_object(name: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise FieldError(name, f"{name} is not valid JSON: {exc}") from None
    except RecursionError:  # nested deeper than the parser's stack
        raise FieldError(name, f"{name} is nested too deeply.") from None


def jwks_fields(source: str, jwks: str, jwks_uri: str) -> dict[str, Any]:
    """A pasted JWKS or a JWKS URL, as the page's radio buttons chose (the other one None)."""
    by_url = source == "url"
    return {
        "jwks": None if by_url else json_object("jwks", jwks),
        "jwks_uri": optional(jwks_uri) if by_url else None,
    }


def body_of(model: type[B], data: dict[str, Any]) -> B:
    """The API's body, or a FieldError naming the first field pydantic refused."""
    try:
        return model(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        name = loc[0] if loc else FORM
        where = ".".join(loc) or "body"
        raise FieldError(name, f"{where}: {first['msg']}") from None


def field_for(text: str, names: Iterable[str], aliases: dict[str, str] | None = None) -> str:
    """The field a service's error text is about: the first form field (or alias, such as
    `keys[0]` for the JWKS) it names, else the form as a whole."""
    for word, name in (aliases or {}).items():
        if word in text:
            return name
    for name in names:
        if re.search(rf"\b{re.escape(name)}\b", text):
            return name
    return FORM


def attempt(
    session: Session,
    state: FormState,
    call: Callable[[], T],
    aliases: dict[str, str] | None = None,
) -> T | None:
    """Run a service call for a form; a refusal leaves nothing behind (the request's unit of work
    would otherwise commit a half write) and its error is noted by field."""
    try:
        with undo_on_error(session):
            return call()
    except FieldError as exc:
        state.errors[exc.name if exc.name in state.values else FORM] = exc.text
    except JitgateError as exc:
        state.errors[field_for(exc.description, state.values, aliases)] = exc.description
    return None
